package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// The benchmark context: 2,000 files, 256 MiB, half compressible text and
// half random bytes, the same on every run (fixed seed).
const (
	genFiles = 2000
	genBytes = 256 << 20
)

// generate writes the context into dir, unless a complete one is there.
func generate(dir string) error {
	marker := filepath.Join(dir, ".complete")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	rng := rand.New(rand.NewChaCha8([32]byte{'d', 'e', 'p', 'l', 'o', 'y'}))
	words := make([]string, 2048)
	for i := range words {
		w := make([]byte, 2+rng.IntN(9))
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		words[i] = string(w)
	}
	per := int64(genBytes / genFiles)
	var prevDelta int64
	for i := range genFiles {
		// sizes vary from half to one and a half times the mean; pairs
		// keep the total exact.
		delta := int64(rng.IntN(int(per))) - per/2
		size := per + delta
		if i%2 == 1 {
			size = per - prevDelta
		}
		prevDelta = delta
		name := filepath.Join(dir, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d.%s", i, map[bool]string{true: "txt", false: "bin"}[i%4 < 2]))
		if err := writeFile(name, size, i%4 < 2, rng, words); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, nil, 0o644)
}

func writeFile(name string, size int64, text bool, rng *rand.Rand, words []string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	buf := make([]byte, 0, 64)
	for n < size {
		buf = buf[:0]
		if text {
			buf = append(buf, words[rng.IntN(len(words))]...)
			if rng.IntN(12) == 0 {
				buf = append(buf, '\n')
			} else {
				buf = append(buf, ' ')
			}
		} else {
			for range 8 {
				v := rng.Uint64()
				buf = append(buf, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
			}
		}
		if int64(len(buf)) > size-n {
			buf = buf[:size-n]
		}
		w.Write(buf)
		n += int64(len(buf))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
