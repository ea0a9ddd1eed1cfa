/* A small program whose types the fast replay tests lay out (nothing here runs). */
#include <stdint.h>

struct point { int32_t x, y; };
struct shape {
    char name[16];
    const char *label;
    struct point corner;
    struct point *next_corner;
    unsigned int visible : 1;
    unsigned int layer : 7;
    int16_t depth;
    uint64_t id;
};

long area(struct shape *s, int scale) { return (long)s->corner.x * s->corner.y * scale; }

int main(void) { struct shape s = {0}; return (int)area(&s, 1); }
