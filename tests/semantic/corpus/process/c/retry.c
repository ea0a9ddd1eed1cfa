/* labels and an always-inlined helper: what .label() and .callee() probe in a process */
#include <stdio.h>
#include <stdlib.h>

static inline __attribute__((always_inline)) int clamp(int v, int lo, int hi)
{
    if (v < lo)
        goto low;
    if (v > hi)
        return hi;
    return v;
low:
    return lo;
}

static int attempt(int n)
{
    return n % 3 == 0;
}

int retry(int tries)
{
    int done = 0;
again:
    if (attempt(tries))
        goto out;
    if (--tries > 0)
        goto again;
    done = -1;
out:
    return clamp(done + tries, 0, 10);
}

int main(int argc, char **argv)
{
    printf("%d\n", retry(argc > 1 ? atoi(argv[1]) : 5));
    return 0;
}
