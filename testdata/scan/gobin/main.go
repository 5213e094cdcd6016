// Command gobin is the Go binary of the scan fixtures: its build info
// records golang.org/x/text at the version this module requires, which the
// fixture advisory GO-2099-0002 affects.
package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() { fmt.Println(language.English) }
