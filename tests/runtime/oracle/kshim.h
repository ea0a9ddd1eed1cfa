/* User-space stand-ins for the kernel facilities that stap's runtime sources use, so the
   installed /usr/share/systemtap/runtime files (vsprintf.c, stp_string.c, stat.c,
   linux/arith.c) and the printf functions `stap -p3` emits can be compiled into a test
   oracle. Only what those files touch is here. */
#ifndef TAPKIT_KSHIM_H
#define TAPKIT_KSHIM_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint32_t u32;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define noinline __attribute__((noinline))
#define fallthrough __attribute__((__fallthrough__))

/* the kernel's min/max/clamp family (type-checked versions reduced to their values) */
#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b) ({ t _a = (t)(a); t _b = (t)(b); _a < _b ? _a : _b; })
#define max_t(t, a, b) ({ t _a = (t)(a); t _b = (t)(b); _a > _b ? _a : _b; })
#define clamp(v, lo, hi) min(max(v, lo), hi)
#define clamp_t(t, v, lo, hi) min_t(t, max_t(t, v, lo), hi)

/* do_div: divide a 64-bit lvalue in place by a 32-bit base, yield the remainder */
#define do_div(n, base) ({ uint32_t _b = (base); uint32_t _r = (uint32_t)((n) % _b); (n) = (n) / _b; _r; })

/* <linux/ctype.h> for ASCII; the runtime always pairs isprint with isascii */
#define isdigit(c) ((c) >= '0' && (c) <= '9')
#define isascii(c) (((unsigned char)(c)) <= 0x7f)
#define isprint(c) (((unsigned char)(c)) >= 32 && ((unsigned char)(c)) < 127)

#define PAGE_SIZE 4096
#define MAXSTRINGLEN 512
#define STP_BUFFER_SIZE 8192
#define STAP_VERSION(a, b) (((a) << 8) + (b))
#define STAP_COMPAT_VERSION STAP_VERSION(4, 8)
#define STP_USER_DS 1
#define STP_KERNEL_DS 0

static unsigned long jiffies;

static size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len >= size ? size - 1 : len;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

static size_t strlcat(char *dst, const char *src, size_t size)
{
    size_t dlen = strnlen(dst, size);
    if (dlen == size)
        return dlen + strlen(src);
    return dlen + strlcpy(dst + dlen, src, size - dlen);
}

/* The probe context: only what the runtime files and compiled printfs read. */
struct context;
static struct context *oracle_context;
#define _stp_runtime_get_context() (oracle_context)

/* Memory that %m/%M and _stp_text_str read: a table the harness fills. */
static unsigned char oracle_mem[65536];
static uintptr_t oracle_mem_base = 0x10000;
static int oracle_fault;
static int oracle_read(uintptr_t addr, unsigned char *out)
{
    if (addr < oracle_mem_base || addr >= oracle_mem_base + sizeof(oracle_mem))
        return -1;
    *out = oracle_mem[addr - oracle_mem_base];
    return 0;
}
#define kread(ptr) ({ unsigned char _v = 0; if (oracle_read((uintptr_t)(ptr), &_v)) { oracle_fault = 1; goto deref_fault; } _v; })
#define uread(ptr) kread(ptr)
/* _stp_text_str reads stap strings, which live in ordinary memory */
#define _stp_deref_nofault(v, size, addr, seg) ({ (v) = *(const char *)(addr); 0; })

/* The print buffer: one reservation per printf, recorded for the harness to dump. */
static char oracle_out[1 << 20];
static size_t oracle_out_len;
static bool _stp_print_trylock_irqsave(unsigned long *flags) { (void)flags; return true; }
static void _stp_print_unlock_irqrestore(unsigned long *flags) { (void)flags; }
static void *_stp_reserve_bytes(int numbytes)
{
    void *ret;
    if (numbytes == 0 || numbytes > STP_BUFFER_SIZE)
        return NULL;
    ret = &oracle_out[oracle_out_len];
    oracle_out_len += numbytes;
    return ret;
}
static void _stp_unreserve_bytes(int numbytes)
{
    if ((size_t)numbytes <= oracle_out_len)
        oracle_out_len -= numbytes;
}
static void _stp_print_flush(void) {}
static void _stp_warn(const char *fmt, ...) { (void)fmt; fputs("oracle: runtime warning\n", stderr); }
static void _stp_error(const char *fmt, ...) { (void)fmt; fputs("oracle: runtime error\n", stderr); }

#define _STP_PRINT_H_ /* vsprintf.c's print.h pulls in the transport; the above replaces it */
#endif
