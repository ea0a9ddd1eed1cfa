/* A small inventory program: the process("…") probes of the semantic corpus resolve against its DWARF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>

enum color { RED, GREEN, BLUE };

struct point {
	int x;
	int y;
};

struct item {
	struct item *next;
	char name[16];
	long count;
	double weight;
	enum color color;
	struct point where;
	unsigned int flags : 3;
	union {
		int code;
		char tag[4];
	} u;
};

typedef struct item item_t;

struct shelf {
	const char *label;
	item_t *first;
	int nitems;
	int (*compare)(const item_t *, const item_t *);
};

long total_added;
static struct shelf main_shelf = { "main", NULL, 0, NULL };

static int by_count(const item_t *a, const item_t *b)
{
	return (int)(a->count - b->count);
}

int add_item(struct shelf *s, item_t *it)
{
	int before = s->nitems;
	it->next = s->first;
	s->first = it;
	s->nitems++;
	total_added += it->count;
	DTRACE_PROBE2(inventory, item_added, it->count, s->nitems);
	return before;
}

long count_items(const struct shelf *s, int color)
{
	long sum = 0;
	const item_t *it;
	for (it = s->first; it; it = it->next) {
		if ((int)it->color == color)
			sum += it->count;
	}
	return sum;
}

const char *item_name(const item_t *it)
{
	return it->name;
}

void move_item(item_t *it, struct point to)
{
	it->where = to;
	DTRACE_PROBE1(inventory, moved, it->where.x);
}

static item_t *make_item(const char *name, long count, enum color color)
{
	item_t *it = calloc(1, sizeof(*it));
	if (!it)
		exit(1);
	strncpy(it->name, name, sizeof(it->name) - 1);
	it->count = count;
	it->color = color;
	it->weight = 1.5 * (double)count;
	return it;
}

int main(int argc, char **argv)
{
	struct point p = { 3, 4 };
	item_t *a = make_item("apple", 3, RED);
	item_t *b = make_item("bean", 7, GREEN);
	main_shelf.compare = by_count;
	add_item(&main_shelf, a);
	add_item(&main_shelf, b);
	move_item(a, p);
	printf("%s %ld %d\n", item_name(b), count_items(&main_shelf, GREEN), argc > 1 ? atoi(argv[1]) : 0);
	return 0;
}
