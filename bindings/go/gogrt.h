/*
 * Private include wrapper for the cgo preambles of this package: includes
 * ../../include/gadgetrt.h (found through `#cgo CFLAGS: -I${SRCDIR}/../../include`).
 */
#ifndef GOGRT_H
#define GOGRT_H

#include <stddef.h>
#include <stdint.h>

#include "gadgetrt.h"

#endif
