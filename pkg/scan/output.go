package scan

import (
	"encoding/json"
	"fmt"
	"io"

	cyclonedx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/osv-scalibr/converter"
	"github.com/google/osv-scalibr/converter/spdx"
	spdxjson "github.com/spdx/tools-golang/json"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// SBOM formats.
const (
	CycloneDX = "cyclonedx"
	SPDX      = "spdx"
)

// WriteSBOM writes the image's packages as a CycloneDX 1.6 JSON or SPDX 2.3
// JSON document, through OSV-SCALIBR's converters. name is the image
// reference the document describes.
func WriteSBOM(w io.Writer, inv *Inventory, format, name string) error {
	switch format {
	case CycloneDX:
		bom := converter.ToCDX(inv.scalibr, converter.CDXConfig{ComponentName: name, ComponentType: string(cyclonedx.ComponentTypeContainer)})
		return cyclonedx.NewBOMEncoder(w, cyclonedx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, cyclonedx.SpecVersion1_6)
	case SPDX:
		doc := converter.ToSPDX23(inv.scalibr, spdx.Config{DocumentName: name})
		return spdxjson.Write(doc, w, spdxjson.Indent("  "))
	}
	return fmt.Errorf("unknown SBOM format %q (want %s or %s)", format, CycloneDX, SPDX)
}
