/* Matrices and a string table: a second binary for process("…") probes and @cast with its types. */
#include <stdio.h>
#include <string.h>

#define N 3

struct matrix {
	int rows;
	int cols;
	double cell[N][N];
	struct matrix *transpose;
};

struct entry {
	const char *key;
	int value;
};

static struct entry table[] = {
	{ "one", 1 },
	{ "two", 2 },
	{ "three", 3 },
};

int lookup(const char *key)
{
	unsigned int i;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i].key, key) == 0)
			return table[i].value;
	}
	return -1;
}

void scale(struct matrix *m, double factor)
{
	int r, c;
	for (r = 0; r < m->rows; r++)
		for (c = 0; c < m->cols; c++)
			m->cell[r][c] *= factor;
}

double trace(const struct matrix *m)
{
	double t = 0;
	int i;
	for (i = 0; i < m->rows && i < m->cols; i++)
		t += m->cell[i][i];
	return t;
}

int main(void)
{
	struct matrix m = { N, N, { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } }, NULL };
	scale(&m, 2.0);
	printf("%f %d\n", trace(&m), lookup("two"));
	return 0;
}
