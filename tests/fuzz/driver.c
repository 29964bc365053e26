/*
 * Seed replayer for fuzz targets: calls LLVMFuzzerTestOneInput once per file
 * in the directories (or on the files) named on the command line. It is how
 * the seed corpora run under ctest without libFuzzer; not a fuzzer itself.
 * Exit 0 when every input ran (a crash or sanitizer report fails the test),
 * 1 when an argument cannot be read or no input was found.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "driver: cannot open %s\n", path);
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	size_t got;
	while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int ran = 0;
	for (int a = 1; a < argc; a++) {
		struct stat st;
		if (stat(argv[a], &st) != 0) {
			fprintf(stderr, "driver: cannot stat %s\n", argv[a]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[a]) != 0)
				return 1;
			ran++;
			continue;
		}
		DIR *d = opendir(argv[a]);
		if (d == NULL)
			return 1;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
			if (run_file(path) != 0) {
				closedir(d);
				return 1;
			}
			ran++;
		}
		closedir(d);
	}
	printf("driver: %d inputs ran\n", ran);
	return ran > 0 ? 0 : 1;
}
