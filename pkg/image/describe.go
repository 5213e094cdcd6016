package image

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// describe fills a Result from the assembled image.
func describe(res *Result, img *Image, a *assembled, uploaded []bool) error {
	top := a.top.(partial.Describable)
	var err error
	if res.Digest, err = top.Digest(); err != nil {
		return err
	}
	if res.MediaType, err = top.MediaType(); err != nil {
		return err
	}
	raw, err := a.top.RawManifest()
	if err != nil {
		return err
	}
	seen := map[v1.Hash]bool{}
	res.Size = int64(len(raw))
	own := map[v1.Hash]int{}
	for i, l := range img.layers {
		sums, err := l.known()
		if err != nil {
			return err
		}
		own[sums.Digest] = i
		res.Layers = append(res.Layers, Layer{Digest: sums.Digest, Size: sums.Size, MediaType: l.mediaType, Uploaded: uploaded[i], Files: countFiles(l.entries)})
	}
	for i, one := range a.images {
		pi, err := describeImage(one, img.platforms[i], own, res.Layers)
		if err != nil {
			return err
		}
		res.Images = append(res.Images, pi)
		if len(a.images) > 1 {
			res.Size += mustSize(one)
		}
		m, err := one.Manifest()
		if err != nil {
			return err
		}
		if !seen[m.Config.Digest] {
			seen[m.Config.Digest] = true
			res.Size += m.Config.Size
		}
		for _, l := range pi.Layers {
			if !seen[l.Digest] {
				seen[l.Digest] = true
				res.Size += l.Size
			}
		}
	}
	return nil
}

func describeImage(one v1.Image, p v1.Platform, own map[v1.Hash]int, ownLayers []Layer) (PlatformImage, error) {
	pi := PlatformImage{Platform: platformString(p)}
	var err error
	if pi.Digest, err = one.Digest(); err != nil {
		return pi, err
	}
	m, err := one.Manifest()
	if err != nil {
		return pi, err
	}
	pi.Size = mustSize(one) + m.Config.Size
	for _, d := range m.Layers {
		l := Layer{Digest: d.Digest, Size: d.Size, MediaType: d.MediaType, FromBase: true}
		if i, ok := own[d.Digest]; ok {
			l = ownLayers[i]
		}
		pi.Layers = append(pi.Layers, l)
		pi.Size += d.Size
	}
	return pi, nil
}

func mustSize(img v1.Image) int64 {
	n, _ := img.Size()
	return n
}
