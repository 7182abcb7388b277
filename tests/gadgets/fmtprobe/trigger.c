// SPDX-License-Identifier: Apache-2.0
//
// fmtprobe trigger: replays a fixed, compiled-in list of test cases. Each case
// is one openat(2) whose path argument points at a `struct fmtprobe_input`
// starting with the magic "FMTPROBE"; the fmtprobe gadget turns it into one
// event carrying exactly these values.
//
// Usage: fmtprobe-trig [main|nan|nul|badip|list]...   (default: main)
//   main   cases 0..N_MAIN-1: every formatter, finite values only
//   nan    case 50: f32 = NaN, f64 = -Inf (IG prints invalid JSON for these)
//   nul    cases 60, 61: `name` with an embedded / leading NUL byte
//   badip  cases 100..102: l3 version 0, l4 version 0, then a valid event
//   list   print the cases (idx and raw values) instead of triggering them
//
// Build: cc -O2 -Wall -o fmtprobe-trig trigger.c

#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FMTPROBE_MAGIC 0x45424f5250544d46ULL /* "FMTPROBE" little-endian */

/* Keep in sync with program.bpf.c */
struct fmtprobe_input {
	uint64_t magic;
	uint64_t timestamp;
	uint64_t syscall;
	uint64_t size;
	uint64_t dur;
	uint64_t hexval;
	double f64;
	uint32_t error;
	uint32_t sig;
	uint32_t mode;
	uint32_t flags;
	uint32_t uid;
	uint32_t gid;
	uint32_t color;
	uint32_t perms;
	uint32_t zbits;
	int32_t level;
	uint32_t idx;
	int32_t neg;
	float f32;
	uint32_t arr32[3];
	struct {
		uint32_t a;
		uint32_t b;
	} in;
	uint8_t ip_addr[16];
	uint8_t ip_version;
	uint8_t ep_version;
	uint16_t ep_port;
	uint16_t ep_proto;
	uint8_t flag;
	uint8_t pad0;
	uint8_t ep_addr[16];
	uint8_t arr[4];
	char name[16];
	uint32_t pad1; /* always 0: ends the path string seen by openat(2) */
};

_Static_assert(sizeof(struct fmtprobe_input) == 192,
	       "fmtprobe_input layout changed; update program.bpf.c");

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Value lists. Main case i uses element i % len of every list. */
static const uint32_t errnos[] = { 0, 2, 41, 95, 117, 133, 134, 4096, 11, 58, 1, 13 };
static const uint32_t sigs[] = { 0, 1, 10, 17, 32, 37, 64, 9, 15, 31, 65, 2 };
static const uint64_t syscalls[] = { 0, 1, 59, 257, 335, 424, 462, 1000, 60, 231, 435, 18446744073709551615ULL };
static const uint32_t modes[] = { 0, 0644, 04755, 07777, 0100644, 040755, 0600, 0120777, 0xffffffffu, 01000000, 0x80000000u, 0x80000000u | 0755 };
static const uint32_t fflags[] = {
	0,                                      /* O_RDONLY */
	02000000,                               /* O_RDONLY|O_CLOEXEC */
	01 | 0100 | 01000 | 02000000,           /* O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC */
	03 | 0200 | 0400,                       /* 3|O_EXCL|O_NOCTTY */
	01 | 04010000 | 040000 | 01000000,      /* O_WRONLY|O_SYNC|O_DIRECT|O_NOATIME */
	020200000 | 010000000 | 0100000 | 020000, /* O_TMPFILE|O_PATH|O_LARGEFILE|O_FASYNC */
	0xffffffffu,                            /* every bit */
	02 | 02000 | 04000,                     /* O_RDWR|O_APPEND|O_NONBLOCK */
	0200000 | 0400000,                      /* O_DIRECTORY|O_NOFOLLOW */
	010000,                                 /* O_DSYNC */
	01,                                     /* O_WRONLY */
	0x80000000u,                            /* unknown high bit only */
};
static const uint64_t sizes[] = { 0, 1, 999, 1000, 1024, 1500000, 123456789012ULL, 18446744073709551615ULL, 9, 10, 999999, 999500 };
static const uint64_t durs[] = { 0, 999, 1000, 1234567, 999999999, 1000000000, 61500000000ULL, 3723000000000ULL, 999999, 2000000001, 18446744073709551615ULL, 86400000000000ULL };
static const uint32_t ids[] = { 0, 1, 65534, 12345, 4294967295u, 2, 3, 100 };
static const uint16_t protos[] = { 0, 1, 6, 17, 58, 132, 200, 255, 2, 47, 50, 136 };
static const uint16_t ports[] = { 0, 80, 1080, 65535, 443, 53, 8080, 22 };
static const uint32_t colors[] = { 0, 1, 7, 5, 0xffffffffu };
static const uint32_t perms[] = { 0, 3, 8, 9, 7, 15, 4 };
static const uint32_t zbits[] = { 0, 1, 3, 4 };
static const int32_t levels[] = { -2, 0, 2, 1, -1 };
static const float f32s[] = { 1.5f, 0.1f, 1e-7f, 1e21f, -3.141592653589793f, 0.0f, 9999999.0f, 123456789.0f, -0.0f, 1e-6f, 3.4028235e38f, 0.5f };
static const double f64s[] = { 1.5, 0.1, 1e-7, 1e21, -3.141592653589793, 0.0, 9999999.0, 123456789.0, -0.0, 0.000001, 1.7976931348623157e308, 2.5 };
static const int32_t negs[] = { -6, 0, -2147483647 - 1, 2147483647, 1, -1 };
static const uint64_t hexvals[] = { 0xDEADBEEFULL, 0, 0xFFFFFFFFFFFFFFFFULL, 0x0123456789ABCDEFULL, 1, 0xDEADBEF0ULL };
static const uint8_t flagbytes[] = { 1, 0, 2, 255 };
static const uint64_t timestamps[] = { 0, 1000000000ULL, 123456789ULL };
static const char *names[] = {
	"fmtprobe", "", "quote\"back\\slash", "tab\tnl\nend", "h\xc3\xa9llo \xe2\x82\xac",
	"bad\xff\xfeutf8", "ctl\x01\x1f\x7f", "exactly16bytes!!", "<a&b>", "sp ace ", "\xe2\x80\xa8ls", "x",
};

struct ip {
	uint8_t version;
	uint8_t addr[16];
};

/* l3 endpoint list ("ip") */
static const struct ip ips[] = {
	{ 4, { 10, 0, 0, 0 } },
	{ 6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },      /* 2001:db8::1 */
	{ 4, { 127, 0, 0, 1 } },
	{ 6, { [10] = 0xff, [11] = 0xff, 1, 2, 3, 4 } }, /* ::ffff:1.2.3.4 */
	{ 6, { [15] = 1 } },                             /* ::1 */
	{ 4, { 255, 255, 255, 255 } },
	{ 6, { 0 } },                                    /* :: */
	{ 6, { 0xfe, 0x80, [9] = 1, [11] = 2, [13] = 3, [15] = 4 } }, /* fe80::1:2:3:4 */
	{ 4, { 0, 0, 0, 0 } },
	{ 6, { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 } }, /* 2001:db8:0:1::1 */
	{ 4, { 192, 168, 1, 254, 9, 9, 9, 9 } },          /* trailing bytes ignored for v4 */
	{ 6, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1 } }, /* 2001:db8:1::1:0:0:1 */
};

/* l4 endpoint list ("ep"): rotated by 2 against ips */
#define EP_SHIFT 2

#define N_MAIN 12

static void fill_main(struct fmtprobe_input *in, unsigned i)
{
	memset(in, 0, sizeof(*in));
	in->magic = FMTPROBE_MAGIC;
	in->idx = i;
	in->timestamp = timestamps[i % N(timestamps)];
	in->error = errnos[i % N(errnos)];
	in->sig = sigs[i % N(sigs)];
	in->syscall = syscalls[i % N(syscalls)];
	in->mode = modes[i % N(modes)];
	in->flags = fflags[i % N(fflags)];
	in->size = sizes[i % N(sizes)];
	in->dur = durs[i % N(durs)];
	in->uid = ids[i % N(ids)];
	in->gid = ids[(i + 1) % N(ids)];
	in->ip_version = ips[i % N(ips)].version;
	memcpy(in->ip_addr, ips[i % N(ips)].addr, 16);
	in->ep_version = ips[(i + EP_SHIFT) % N(ips)].version;
	memcpy(in->ep_addr, ips[(i + EP_SHIFT) % N(ips)].addr, 16);
	in->ep_port = ports[i % N(ports)];
	in->ep_proto = protos[i % N(protos)];
	in->color = colors[i % N(colors)];
	in->perms = perms[i % N(perms)];
	in->zbits = zbits[i % N(zbits)];
	in->level = levels[i % N(levels)];
	in->flag = flagbytes[i % N(flagbytes)];
	in->f32 = f32s[i % N(f32s)];
	in->f64 = f64s[i % N(f64s)];
	for (unsigned k = 0; k < 4; k++)
		in->arr[k] = (uint8_t)(i * 4 + k + (k == 3 ? 250 : 0));
	in->arr32[0] = i;
	in->arr32[1] = 4294967295u - i;
	in->arr32[2] = 1000000u * i;
	in->in.a = 40 + i;
	in->in.b = 7 * i;
	in->neg = negs[i % N(negs)];
	in->hexval = hexvals[i % N(hexvals)];
	/* name: copy up to 16 bytes, not necessarily NUL-terminated */
	{
		const char *nm = names[i % N(names)];
		size_t len = strlen(nm);
		memcpy(in->name, nm, len < sizeof(in->name) ? len : sizeof(in->name));
	}
}

static void print_case(const struct fmtprobe_input *in)
{
	printf("idx=%u timestamp=%llu error=%u sig=%u syscall=%llu mode=0%o flags=0%o size=%llu dur=%llu "
	       "uid=%u gid=%u ip_version=%u ep_version=%u ep_port=%u ep_proto=%u color=%u perms=%u zbits=%u "
	       "level=%d flag=%u f32=%.9g f64=%.17g neg=%d hexval=0x%llx in.a=%u in.b=%u\n",
	       in->idx, (unsigned long long)in->timestamp, in->error, in->sig,
	       (unsigned long long)in->syscall, in->mode, in->flags, (unsigned long long)in->size,
	       (unsigned long long)in->dur, in->uid, in->gid, in->ip_version, in->ep_version,
	       in->ep_port, in->ep_proto, in->color, in->perms, in->zbits, in->level, in->flag,
	       in->f32, in->f64, in->neg, (unsigned long long)in->hexval, in->in.a, in->in.b);
}

static int list_only;

static void fire(struct fmtprobe_input *in)
{
	if (list_only) {
		print_case(in);
		return;
	}
	/* The "path" is binary garbage: openat fails (ENOENT/EINVAL); that is fine. */
	long fd = syscall(SYS_openat, AT_FDCWD, (const char *)in, O_RDONLY);
	if (fd >= 0)
		close((int)fd);
}

int main(int argc, char **argv)
{
	struct fmtprobe_input in;
	int did = 0;

	for (int a = 1; a < argc; a++)
		if (!strcmp(argv[a], "list"))
			list_only = 1;

	for (int a = 1; a <= argc; a++) {
		const char *what = a < argc ? argv[a] : (did ? NULL : "main");
		if (!what)
			break;
		if (!strcmp(what, "list"))
			continue;
		did = 1;
		if (!strcmp(what, "main")) {
			for (unsigned i = 0; i < N_MAIN; i++) {
				fill_main(&in, i);
				fire(&in);
			}
		} else if (!strcmp(what, "nan")) {
			fill_main(&in, 0);
			in.idx = 50;
			in.f32 = NAN;
			in.f64 = -INFINITY;
			fire(&in);
		} else if (!strcmp(what, "nul")) {
			fill_main(&in, 0);
			in.idx = 60;
			memcpy(in.name, "ab\0cd", 5); /* NUL inside: bytes after it */
			fire(&in);
			fill_main(&in, 1);
			in.idx = 61;
			memcpy(in.name, "\0hidden-text", 12); /* NUL first */
			fire(&in);
		} else if (!strcmp(what, "badip")) {
			fill_main(&in, 0);
			in.idx = 100;
			in.ip_version = 0; /* l3 version 0: IG drops the event */
			fire(&in);
			fill_main(&in, 1);
			in.idx = 101;
			in.ep_version = 0; /* l4 version 0 */
			fire(&in);
			fill_main(&in, 2);
			in.idx = 102; /* valid */
			fire(&in);
		} else {
			fprintf(stderr, "unknown case set %s\n", what);
			return 2;
		}
	}
	return 0;
}
