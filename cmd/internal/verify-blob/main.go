// Command verify-blob checks a file's Sigstore bundle as `cosign
// verify-blob` does, with the same flags, through this module's sign
// library: scripts/run-action builds it from the action's own source to
// check a release's checksums.txt when cosign is not on the runner's PATH.
//
//	verify-blob --bundle checksums.txt.sigstore.json \
//	  --certificate-identity https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/vX \
//	  --certificate-oidc-issuer https://token.actions.githubusercontent.com \
//	  [--trusted-root trusted_root.json] checksums.txt
//
// Without --trusted-root it trusts the Sigstore public-good instance, read
// from its TUF repository. It prints "Verified OK" and exits 0, or says why
// not and exits 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/fxplatform/deploy-actions/pkg/sign"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "verify-blob:", err)
		os.Exit(1)
	}
	fmt.Println("Verified OK")
}

func run(args []string) error {
	fs := flag.NewFlagSet("verify-blob", flag.ContinueOnError)
	bundle := fs.String("bundle", "", "the file's Sigstore bundle")
	var p sign.BlobPolicy
	fs.StringVar(&p.Identity, "certificate-identity", "", "the signer's certificate identity, matched whole")
	fs.StringVar(&p.Issuer, "certificate-oidc-issuer", "", "the certificate's OIDC issuer, matched whole")
	root := fs.String("trusted-root", "", "a Sigstore trusted_root.json (default: the public-good instance's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *bundle == "" {
		return fmt.Errorf("usage: verify-blob --bundle B --certificate-identity I --certificate-oidc-issuer O [--trusted-root T] FILE")
	}
	b, err := os.ReadFile(*bundle)
	if err != nil {
		return err
	}
	if *root != "" {
		if p.TrustedRoot, err = os.ReadFile(*root); err != nil {
			return err
		}
	}
	return sign.VerifyBlob(context.Background(), fs.Arg(0), b, p)
}
