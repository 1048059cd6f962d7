/*
 * replay.c - the driver `make test` links each fuzz target with (in place
 * of libFuzzer, so the default compiler builds it): runs the files named
 * on the command line through the target, or with no argument every file
 * of t/fuzz/corpus/<target>/ (OW_FUZZ_TARGET, set at build time) in name
 * order, and prints TAP, a line per file. A crash, a sanitizer report or a
 * broken check ends the process, which prove reports as a failure.
 */
#include "t/fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int nfiles;

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		printf("not ok %d - %s: %s\n", ++nfiles, path, strerror(errno));
		return 1;
	}
	ow_buf_t b = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ow_buf_add(&b, chunk, n);
	fclose(f);
	/* a copy of exactly its size, so that ASan sees a read past the end */
	size_t len = b.len;
	uint8_t *data = ow_alloc(len);
	if (len)
		memcpy(data, b.data, len);
	ow_buf_free(&b);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	printf("ok %d - %s (%zu bytes)\n", ++nfiles, path, len);
	fflush(stdout);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	int bad = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bad += replay(argv[i]);
	} else {
		const char *dir = "t/fuzz/corpus/" OW_FUZZ_TARGET;
		DIR *d = opendir(dir);
		if (d == NULL) {
			printf("1..0 # SKIP no corpus %s: %s\n", dir, strerror(errno));
			return 1;
		}
		char **names = NULL;
		size_t count = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			ow_buf_t name = {0};
			ow_buf_printf(&name, "%s/%s", dir, e->d_name);
			ow_buf_add(&name, "", 1);
			names = ow_realloc(names, (count + 1) * sizeof(*names));
			names[count++] = (char *)name.data;
		}
		closedir(d);
		qsort(names, count, sizeof(*names), by_name);
		for (size_t i = 0; i < count; i++) {
			bad += replay(names[i]);
			free(names[i]);
		}
		free(names);
		if (count == 0) {
			printf("not ok 1 - %s has no file\n", dir);
			bad++, nfiles++;
		}
	}
	printf("1..%d\n", nfiles);
	return bad != 0;
}
