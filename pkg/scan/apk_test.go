package scan_test

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/fxplatform/deploy-actions/pkg/scan"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
)

func TestAlpinePackages(t *testing.T) {
	osRelease := []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n")
	installed := []byte("C:Q1abc=\nP:busybox\nV:1.36.1-r28\nA:x86_64\nS:509256\nI:946176\nT:Size optimized toolbox of many common UNIX utilities\nU:https://busybox.net/\nL:GPL-2.0-only\no:busybox\nm:Sören Tempel <soeren+alpine@soeren-tempel.net>\nt:1716804212\n\n" +
		"C:Q1def=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:411323\nI:915456\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Natanael Copa <ncopa@alpinelinux.org>\nt:1711900000\n\n")
	img, err := mutate.AppendLayers(empty.Image, []v1.Layer{layer(t, entry{"etc/os-release", osRelease}, entry{"lib/apk/db/installed", installed})}...)
	if err != nil {
		t.Fatal(err)
	}
	_, findings, err := scan.Scan(context.Background(), img, scan.OfflineDB{Path: scantest.ZipDB(t)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, brief(f))
	}
	want := "ALPINE-CVE-2023-42363 busybox@1.36.1-r28 lib/apk/db/installed medium fixed=[1.36.1-r29]"
	if len(got) != 1 || got[0] != want {
		t.Errorf("findings %q, want [%q]", got, want)
	}
}
