package monitoring

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "monitoring")
	paths, err := WriteFiles(dir, fxPlatform())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if want := []string{"dashboard.json", "prometheusrule.yaml", "rules.yml", "servicemonitor.yaml"}; !reflect.DeepEqual(names, want) {
		t.Errorf("wrote %v, want %v", names, want)
	}
	files, err := Files(fxPlatform())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from Files'", name)
		}
	}
	runPromtool(t, map[string][]byte{"rules.yml": files[FileRules]}, "check", "rules", "rules.yml")
}

func TestWriteFilesBadServiceWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "monitoring")
	s := fxPlatform()
	s.Thresholds.CPU.Warning = 0.95
	if _, err := WriteFiles(dir, s); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was made: %v", dir, err)
	}
}
