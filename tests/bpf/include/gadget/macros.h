/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gadgetrt's own minimal stand-in for Inspektor Gadget's <gadget/macros.h>
 * (see tests/bpf/gadget.h, which uses the same marker conventions).
 *
 * Every marker is an unused, non-static global of type `const void *`, so it
 * appears in BTF as a global VAR (PTR -> CONST -> VOID); the loader finds
 * markers by their VAR names.
 */
#ifndef GADGETRT_GADGET_MACROS_H
#define GADGETRT_GADGET_MACROS_H

/* gadget_tracer_<name>___<map>___<struct>; the second global forces
 * `struct <struct>` into BTF even if it is only used through a pointer. */
#define GADGET_TRACER(name, map, type)                                   \
	const void *gadget_tracer_##name##___##map##___##type            \
		__attribute__((unused));                                 \
	const struct type *__gadget_tracer_type_##name                   \
		__attribute__((unused));

#define GADGET_PARAM(var) \
	const void *gadget_param_##var __attribute__((unused));

#endif /* GADGETRT_GADGET_MACROS_H */
