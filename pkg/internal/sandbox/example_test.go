package sandbox_test

import (
	"context"
	"fmt"
	"os"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
)

// A registry outside a test, stopped with Close.
func ExampleStartRegistry() {
	r, err := sandbox.StartRegistry(context.Background(), os.TempDir()+"/my-registry", sandbox.RegistryOptions{})
	if err != nil {
		fmt.Println(err) // names the component, the Debian package or the busy port
		return
	}
	defer r.Close()
	fmt.Println(r.URL()) // http://127.0.0.1:PORT
}
