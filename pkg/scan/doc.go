// Package scan finds known vulnerabilities in a container image.
//
// It reads the image's layers from the registry (or an OCI layout, or a
// tarball) as a stream, keeping in memory only the files that OSV-SCALIBR's
// extractors ask for (package databases, lockfiles, binaries) and squashing
// the layers as a container runtime would, so the image is never unpacked to
// disk. The packages found are matched against OSV advisories, from an
// offline database in the osv.dev export layout or from the OSV API, with
// OSV-SCALIBR's version matching. Severity comes from the advisory's CVSS
// vectors (scored by go-cvss) or, failing that, its own rating. The result
// is rendered as SARIF 2.1.0, JSON and an SBOM (CycloneDX or SPDX).
package scan
