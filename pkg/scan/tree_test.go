package scan

import (
	"fmt"
	"slices"
	"testing"
	"testing/fstest"
)

// TestTree checks the tree against fstest.TestFS (Open, ReadDir, Stat and
// every file's content) through adds, a file replacing a directory and the
// other way round, removals that empty directories, and under.
func TestTree(t *testing.T) {
	tr := newTree()
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: 0o644} }
	for i := range 50 {
		tr.add(fmt.Sprintf("app/node_modules/p%d/package.json", i), file(fmt.Sprint(i)))
	}
	tr.add("var/lib/dpkg/status", file("status"))
	tr.add("etc/os-release", file("ID=debian"))
	tr.add("srv", file("a file where a directory will be"))
	tr.add("srv/package-lock.json", file("{}")) // the directory replaces the file
	tr.add("opt/x/y", file("y"))
	tr.add("opt/x", file("x")) // the file replaces the directory
	for i := range 10 {
		tr.remove(fmt.Sprintf("app/node_modules/p%d/package.json", i))
	}
	var want []string
	for i := 10; i < 50; i++ {
		want = append(want, fmt.Sprintf("app/node_modules/p%d/package.json", i))
	}
	want = append(want, "etc/os-release", "opt/x", "srv/package-lock.json", "var/lib/dpkg/status")
	if err := fstest.TestFS(tr, want...); err != nil {
		t.Fatal(err)
	}
	got := tr.under(".")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("under(.) = %v\nwant %v", got, want)
	}
	if info, err := tr.Stat("srv"); err != nil || !info.IsDir() {
		t.Errorf("srv: %v, %v; want the directory that replaced the file", info, err)
	}
	for _, gone := range []string{"opt/x/y", "app/node_modules/p0", "app/node_modules/p0/package.json"} {
		if _, err := tr.Stat(gone); err == nil {
			t.Errorf("%s still exists", gone)
		}
	}
	for _, p := range tr.under("app") {
		tr.remove(p)
	}
	if _, err := tr.Stat("app"); err == nil {
		t.Error("app still exists with nothing in it")
	}
}
