/*
 * embed.c - a build-time tool, not part of openwit: writes the C file that
 * holds the web UI's assets (modules/ui/ui.h, ow_ui_assets).
 *
 *   embed OUT.c FILE...
 *
 * Each FILE (modules/ui/www/NAME) becomes one gzip member (deflate level
 * 9, no file name, time 0: the same input gives the same bytes) in a
 * static array, served as "/ui/NAME", index.html as "/". The content type
 * comes from NAME's extension; an unknown one is an error, so a new kind
 * of file is not served as something it is not. Only zlib is needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const struct {
	const char *ext, *ctype;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
};

static unsigned char *slurp(const char *name, size_t *len)
{
	FILE *f = fopen(name, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	unsigned char *p = malloc(cap);
	for (size_t r; p && (r = fread(p + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap)
			p = realloc(p, cap *= 2);
	}
	fclose(f);
	*len = n;
	return p;
}

/* raw into a gzip member in *out: 0, or -1 */
static int gzip(const unsigned char *raw, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream z = {0};
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	gz_header h = {0};
	h.os = 3; /* Unix, as gzip -n writes it */
	deflateSetHeader(&z, &h);
	size_t cap = deflateBound(&z, len) + 64;
	*out = malloc(cap);
	z.next_in = (unsigned char *)raw;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: embed OUT.c FILE...\n");
		return 2;
	}
	FILE *o = fopen(argv[1], "w");
	if (o == NULL) {
		perror(argv[1]);
		return 1;
	}
	fprintf(o, "/* Written by modules/ui/gen/embed.c from modules/ui/www/: do not edit. */\n"
		   "#include \"modules/ui/ui.h\"\n\n");
	size_t total = 0;
	for (int i = 2; i < argc; i++) {
		size_t len, gz_len;
		unsigned char *raw = slurp(argv[i], &len), *gz;
		if (raw == NULL || gzip(raw, len, &gz, &gz_len) != 0) {
			fprintf(stderr, "embed: %s: cannot read or compress\n", argv[i]);
			return 1;
		}
		fprintf(o, "static const unsigned char a%d[] = {", i);
		for (size_t k = 0; k < gz_len; k++)
			fprintf(o, "%s%u,", k % 24 ? "" : "\n", gz[k]);
		fprintf(o, "\n};\n");
		total += gz_len;
		free(raw);
		free(gz);
	}
	fprintf(o, "\nconst ow_ui_asset_t ow_ui_assets[] = {\n");
	for (int i = 2; i < argc; i++) {
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		const char *dot = strrchr(base, '.'), *ctype = NULL;
		for (size_t t = 0; dot && t < sizeof(types) / sizeof(types[0]); t++)
			if (strcmp(dot, types[t].ext) == 0)
				ctype = types[t].ctype;
		if (ctype == NULL) {
			fprintf(stderr, "embed: %s: no content type for its extension\n", argv[i]);
			return 1;
		}
		size_t len;
		unsigned char *raw = slurp(argv[i], &len);
		unsigned long crc = crc32(0, raw, (uInt)len), ad = adler32(1, raw, (uInt)len);
		free(raw);
		fprintf(o,
			"    {\"%s%s\", \"%s\", a%d, sizeof(a%d), %zu, \"\\\"%08lx%08lx\\\"\"},\n",
			strcmp(base, "index.html") ? "/ui/" : "/",
			strcmp(base, "index.html") ? base : "", ctype, i, i, len, crc, ad);
	}
	fprintf(o, "};\nconst size_t ow_ui_nassets = %d;\n", argc - 2);
	if (fclose(o) != 0) {
		perror(argv[1]);
		return 1;
	}
	printf("  EMBED   %d files, %zu bytes compressed\n", argc - 2, total);
	return 0;
}
