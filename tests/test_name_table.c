/* name_table_find: exact bytes, length-bounded, case-sensitive, NULL-safe, only the first count names. */
#include <string.h>

#include "rb/base/name_table.h"
#include "testutil.h"

int main(void)
{
	static const char *const names[] = {"auto", "dnnl", "vector", "auto-x", NULL};
	CHECK(name_table_find(names, 4, "auto", 4) == 0);
	CHECK(name_table_find(names, 4, "vector", 6) == 2);
	CHECK(name_table_find(names, 4, "auto-x", 6) == 3);
	CHECK(name_table_find(names, 4, "autox", 4) == 0);   /* only len bytes are read */
	CHECK(name_table_find(names, 4, "aut", 3) == -1);    /* a prefix is not a name */
	CHECK(name_table_find(names, 4, "Auto", 4) == -1);   /* case matters */
	CHECK(name_table_find(names, 4, "auto\0", 5) == -1); /* a NUL inside is a byte */
	CHECK(name_table_find(names, 4, "", 0) == -1);
	CHECK(name_table_find(names, 4, NULL, 4) == -1);
	CHECK(name_table_find(names, 2, "vector", 6) == -1); /* past count: not searched */
	CHECK(name_table_find(names, 0, "auto", 4) == -1);
	return 0;
}
