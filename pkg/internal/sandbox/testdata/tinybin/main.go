// Command tinybin stands in for a control-plane binary in build cache tests.
package main

import "fmt"

func main() { fmt.Println("tinybin ok") }
