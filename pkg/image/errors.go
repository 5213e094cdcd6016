package image

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalidTag marks a tag outside the OCI grammar
	// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
	ErrInvalidTag = errors.New("invalid tag")
	// ErrInvalidPlatform marks a platform that does not parse or names an
	// unknown operating system or architecture.
	ErrInvalidPlatform = errors.New("invalid platform")
	// ErrPlatformNotInBase marks a requested platform the base image lacks.
	ErrPlatformNotInBase = errors.New("platform not in base image")
	// ErrEscapesContext marks a files source outside the context directory,
	// lexically or through a symbolic link.
	ErrEscapesContext = errors.New("source escapes the context")
	// ErrNoTags marks a push with no tags and no way to compute them.
	ErrNoTags = errors.New("no tags")
	// ErrUnauthorized is a registry's 401: credentials missing or wrong.
	ErrUnauthorized = errors.New("unauthorized (HTTP 401)")
	// ErrForbidden is a registry's 403: credentials lack the permission.
	ErrForbidden = errors.New("forbidden (HTTP 403)")
	// ErrNotFound is a registry's 404, e.g. a base image that does not exist.
	ErrNotFound = errors.New("not found (HTTP 404)")
	// ErrNoBuilder marks a Dockerfile build on a machine with neither
	// buildah nor docker buildx.
	ErrNoBuilder = errors.New("neither buildah nor docker buildx found")
)

// classify wraps a registry error so that callers can test it against
// ErrUnauthorized, ErrForbidden and ErrNotFound, keeping the registry's own
// message.
func classify(err error) error {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return err
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	case http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	case http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
