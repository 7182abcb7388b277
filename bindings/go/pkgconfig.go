//go:build gadgetrt_pkgconfig

package gadgetrt

// Build with `-tags gadgetrt_pkgconfig` to take compiler and linker flags from a
// gadgetrt.pc found on PKG_CONFIG_PATH (see README.md), instead of CGO_LDFLAGS.

// #cgo pkg-config: gadgetrt
import "C"
