/*
 * Private include wrapper for the cgo preambles of this package: includes the module's
 * copy of include/gadgetrt.h (bindings/go/gadgetrt.h, found through `#cgo CFLAGS: -I${SRCDIR}`).
 */
#ifndef GOGRT_H
#define GOGRT_H

#include <stddef.h>
#include <stdint.h>

#include "gadgetrt.h"

#endif
