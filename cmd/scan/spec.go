package main

import (
	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

var spec = &action.Spec{
	Name:        "scan",
	Description: "Scan an image pinned by digest for known vulnerabilities (OSV), fail at a severity threshold, write SARIF, JSON and an SBOM.",
	Inputs: append([]action.Input{
		{Name: "image", Required: true, Kind: action.KindImage, Description: "Image to scan, repo@sha256:... (a tag is refused). With oci-layout-path, the digest picks the manifest in the layout."},
		{Name: "oci-layout-path", Description: "Read the image from this OCI layout directory instead of the registry."},
		{Name: "image-tarball", Description: "Read the image from this tarball (docker save / crane pull) instead of the registry; image then only names it."},
		{Name: "platform", Default: "linux/amd64", Description: "Platform scanned when the image is an index."},
		{Name: "severity-threshold", Default: "high", Kind: action.KindEnum, Allowed: []string{"critical", "high", "medium", "low", "none"}, Description: "Fail on a finding at or above this severity; none never fails."},
		{Name: "ignore-file", Description: "osv-scanner.toml with [[IgnoredVulns]] (id, ignoreUntil, reason); an expired entry counts again and is reported."},
		{Name: "only-fixed", Default: "false", Kind: action.KindBool, Description: "Leave findings with no fixed version out of the threshold."},
		{Name: "osv-db", Description: "Offline OSV database: a directory of <ecosystem>/all.zip (the osv.dev export layout) or one zip. Default: the OSV API."},
		{Name: "osv-api-url", Default: "https://api.osv.dev", Description: "OSV API used when osv-db is not set."},
		{Name: "memory-budget", Default: "1GiB", Kind: action.KindBytes, Description: "The most the scan keeps in memory of the image's files that name packages (package databases, lockfiles, Go binaries), over every layer (their bytes, hard links again, paths and directories); the process needs about three times this for usual files, and up to 35 times for lockfiles or dpkg databases of very many tiny entries. An image that needs more stops the scan with exit code 2: incomplete, never a pass. From 16MiB to 64GiB."},
		{Name: "sarif-file", Default: "scan.sarif", Description: "Where to write the SARIF 2.1.0 report (always every finding, whatever the threshold); none writes none (an empty value means the default, as for every input)."},
		{Name: "json-file", Description: "Where to write the JSON report; empty for none."},
		{Name: "sbom-file", Description: "Where to write the SBOM; empty for none."},
		{Name: "sbom-format", Default: "cyclonedx", Kind: action.KindEnum, Allowed: []string{"cyclonedx", "spdx"}, Description: "SBOM format: CycloneDX 1.6 JSON or SPDX 2.3 JSON."},
	}, registry.Inputs...),
	Outputs: []action.Output{
		{Name: "passed", Description: "true when no counted finding is at or above the threshold."},
		{Name: "critical", Description: "Critical findings (not ignored)."},
		{Name: "high", Description: "High findings (not ignored)."},
		{Name: "medium", Description: "Medium findings (not ignored)."},
		{Name: "low", Description: "Low findings (not ignored)."},
		{Name: "total", Description: "All counted findings, including those of unknown severity."},
		{Name: "sarif-file", Description: "Path of the SARIF report."},
		{Name: "json-file", Description: "Path of the JSON report."},
		{Name: "sbom-file", Description: "Path of the SBOM."},
	},
}
