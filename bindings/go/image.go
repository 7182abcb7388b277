package gadgetrt

/*
#include <stdlib.h>
#include "gogrt.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"strings"
	"unsafe"
)

// PullPolicy says when an image reference is pulled from its registry (ig run --pull).
type PullPolicy uint32

const (
	PullMissing PullPolicy = C.GRT_PULL_MISSING // default: only when not in the store
	PullAlways  PullPolicy = C.GRT_PULL_ALWAYS
	PullNever   PullPolicy = C.GRT_PULL_NEVER
)

// ImageOptions configure images by reference (grt_image_options). The zero value means the
// defaults: the default store, pull when missing, signatures verified with Inspektor Gadget's
// public key.
type ImageOptions struct {
	// StoreDir is the local image store (default: $GADGETRT_IMAGE_STORE, else
	// /var/lib/gadgetrt/images for root, else $XDG_DATA_HOME/gadgetrt/images).
	StoreDir string
	// Pull is the pull policy of OpenRef/LoadRef (Pull always pulls).
	Pull PullPolicy
	// DisableVerify runs unsigned images (ig run --verify-image=false).
	DisableVerify bool
	// PublicKeys are PEM ECDSA P-256 public keys a signature may be made with; empty:
	// Inspektor Gadget's key. Given keys replace IG's (ig run --public-keys).
	PublicKeys []string
	// AuthFile is a docker-style config (default $DOCKER_CONFIG/config.json or
	// ~/.docker/config.json; credHelpers/credsStore helpers are run).
	AuthFile string
	// InsecureRegistries are reached over plain HTTP (loopback registries always are).
	InsecureRegistries []string
	// Username and Password, when both set, take precedence over the auth file.
	Username, Password string
}

// withImageOptions calls f with a C copy of o (strings in C memory, freed afterwards);
// nil o passes NULL (defaults).
func withImageOptions(o *ImageOptions, f func(*C.grt_image_options) *C.grt_error) *C.grt_error {
	if o == nil {
		return f(nil)
	}
	// The struct is passed to C, so its strings must live in C memory.
	co := (*C.grt_image_options)(C.calloc(1, C.size_t(unsafe.Sizeof(C.grt_image_options{}))))
	var frees []unsafe.Pointer
	defer func() {
		for _, p := range frees {
			C.free(p)
		}
		C.free(unsafe.Pointer(co))
	}()
	str := func(s string, ptr **C.char, n *C.size_t) {
		if s == "" {
			return
		}
		cs := C.CString(s)
		frees = append(frees, unsafe.Pointer(cs))
		*ptr, *n = cs, C.size_t(len(s))
	}
	co.size = C.size_t(unsafe.Sizeof(*co))
	str(o.StoreDir, &co.store_dir, &co.store_dir_len)
	co.pull_policy = C.uint32_t(o.Pull)
	if o.DisableVerify {
		co.disable_verify = 1
	}
	str(strings.Join(o.PublicKeys, "\n"), &co.public_keys, &co.public_keys_len)
	str(o.AuthFile, &co.auth_file, &co.auth_file_len)
	str(strings.Join(o.InsecureRegistries, ","), &co.insecure_registries, &co.insecure_registries_len)
	str(o.Username, &co.username, &co.username_len)
	str(o.Password, &co.password, &co.password_len)
	return f(co)
}

// OpenRef opens a gadget by image reference without running guest code, like `ig run REF`:
// the reference is normalised like IG (trace_open → ghcr.io/inspektor-gadget/gadget/trace_open:latest),
// taken from the local store or pulled (opts.Pull), and its signature is verified unless
// opts.DisableVerify (ErrSignature when missing or wrong). opts may be nil (defaults).
func (r *Runtime) OpenRef(reference string, opts *ImageOptions) (*Gadget, error) {
	return r.open(reference, func(rt *C.grt_runtime, out **C.grt_gadget) *C.grt_error {
		return withImageOptions(opts, func(co *C.grt_image_options) *C.grt_error {
			rp, rn := cstr(reference)
			return C.grt_gadget_open_ref(rt, rp, rn, co, out)
		})
	})
}

// LoadRef is OpenRef followed by Init.
func (r *Runtime) LoadRef(reference string, opts *ImageOptions) (*Gadget, error) {
	return r.open(reference, func(rt *C.grt_runtime, out **C.grt_gadget) *C.grt_error {
		return withImageOptions(opts, func(co *C.grt_image_options) *C.grt_error {
			rp, rn := cstr(reference)
			return C.grt_gadget_load_ref(rt, rp, rn, co, out)
		})
	})
}

// PullImage pulls an image (and its signature) into the store and verifies the signature
// unless opts.DisableVerify. It returns the image digest (sha256:...). opts may be nil.
func PullImage(reference string, opts *ImageOptions) (string, error) {
	buf := make([]byte, 128)
	var n C.size_t
	e := withImageOptions(opts, func(co *C.grt_image_options) *C.grt_error {
		rp, rn := cstr(reference)
		// C memory for the output: Go memory must not be written by C after the call.
		cbuf := C.malloc(C.size_t(len(buf)))
		defer C.free(cbuf)
		err := C.grt_image_pull(co, rp, rn, (*C.char)(cbuf), C.size_t(len(buf)), &n)
		if err == nil {
			copy(buf, unsafe.Slice((*byte)(cbuf), int(n)))
		}
		return err
	})
	if err := takeError(e); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// RemoveImage removes an image from the store (ErrNotFound when absent). Only
// opts.StoreDir is used; opts may be nil.
func RemoveImage(reference string, opts *ImageOptions) error {
	return takeError(withImageOptions(opts, func(co *C.grt_image_options) *C.grt_error {
		rp, rn := cstr(reference)
		return C.grt_image_remove(co, rp, rn)
	}))
}

// StoredImage is one image of the local store.
type StoredImage struct {
	Reference string  `json:"reference"` // full normalised reference
	Digest    string  `json:"digest"`    // sha256:...
	Created   *string `json:"created"`   // org.opencontainers.image.created, if recorded
}

// ListImages lists the images of the store. Only opts.StoreDir is used; opts may be nil.
func ListImages(opts *ImageOptions) ([]StoredImage, error) {
	var out []byte
	e := withImageOptions(opts, func(co *C.grt_image_options) *C.grt_error {
		var n C.size_t
		if err := C.grt_image_list_json(co, nil, 0, &n); err != nil {
			if Code(C.grt_error_code(err)) != CodeInsufficientSize {
				return err
			}
			C.grt_error_free(err)
		}
		for {
			cbuf := C.malloc(n + 1)
			err := C.grt_image_list_json(co, (*C.char)(cbuf), n+1, &n)
			if err == nil {
				out = C.GoBytes(cbuf, C.int(n))
				C.free(cbuf)
				return nil
			}
			C.free(cbuf)
			if Code(C.grt_error_code(err)) != CodeInsufficientSize {
				return err
			}
			C.grt_error_free(err) // the store grew meanwhile: retry with the new size
		}
	})
	if err := takeError(e); err != nil {
		return nil, err
	}
	var imgs []StoredImage
	if err := json.Unmarshal(out, &imgs); err != nil {
		return nil, fmt.Errorf("gadgetrt: image list: %w", err)
	}
	return imgs, nil
}
