/* export-otlp-dump.c: print every span of a store's run on one line, its
 * attributes sorted, so the export-otlp test can compare the spans it
 * exported with the spans that came back through `harness collect`.
 *
 * usage: export-otlp-dump STORE RUN [sent]
 *
 * With "sent", each span is printed as OTLP/JSON export should deliver it
 * (otlp-json.h): the kind as the attribute harness.kind, the thread as
 * thread.id, the stack as code.stacktrace. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

struct line {
	char *key;
	char *text;
};

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->key,
		      ((const struct line *)b)->key);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0) {
		fprintf(stderr, "export-otlp-dump: out of memory\n");
		exit(1);
	}
	va_end(ap);
	return s;
}

static bool has(const struct store_span *sp, const char *key)
{
	for (size_t i = 0; i < sp->nattrs; i++)
		if (!strcmp(sp->attrs[i].key, key))
			return true;
	return false;
}

static int print_span(const struct store_span *sp, void *payload)
{
	bool sent = *(bool *)payload;
	struct line attrs[256];
	size_t n = 0;

	for (size_t i = 0; i < sp->nattrs && n < 250; i++) {
		const struct store_attr *a = &sp->attrs[i];

		attrs[n].key = fmt("%s", a->key);
		switch (a->type) {
		case STORE_ATTR_INT:
			attrs[n].text = fmt("int:%" PRId64, a->v.i);
			break;
		case STORE_ATTR_DOUBLE:
			attrs[n].text = fmt("double:%.17g", a->v.d);
			break;
		case STORE_ATTR_BOOL:
			attrs[n].text = fmt("bool:%d", a->v.b);
			break;
		case STORE_ATTR_TEXT:
			attrs[n].text = fmt("text:%s", a->v.s);
			break;
		}
		n++;
	}
	if (sent && !has(sp, "harness.kind")) {
		attrs[n].key = fmt("harness.kind");
		attrs[n++].text = fmt("text:%s", sp->kind);
	}
	if (sent && sp->tid > 0 && !has(sp, "thread.id")) {
		attrs[n].key = fmt("thread.id");
		attrs[n++].text = fmt("int:%" PRId64, sp->tid);
	}
	if (sent && sp->nframes && !has(sp, "code.stacktrace")) {
		size_t len = 0;
		char *s;

		for (size_t i = 0; i < sp->nframes; i++)
			len += strlen(sp->frames[i]) + 1;
		s = calloc(1, len + 1);
		for (size_t i = 0; i < sp->nframes; i++) {
			if (i)
				strcat(s, "\n");
			strcat(s, sp->frames[i]);
		}
		attrs[n].key = fmt("code.stacktrace");
		attrs[n++].text = fmt("text:%s", s);
		free(s);
	}
	qsort(attrs, n, sizeof(attrs[0]), by_key);

	for (int i = 0; i < 16; i++)
		printf("%02x", sp->trace_id[i]);
	printf(" %016" PRIx64 " %016" PRIx64, sp->span_id, sp->parent_id);
	printf(" service=%s host=%s pid=%" PRId64 " tid=%" PRId64,
	       sp->service ? sp->service : "", sp->host ? sp->host : "",
	       sp->pid, sp->tid);
	printf(" start=%" PRId64 " dur=%" PRId64 " status=%s", sp->start_ns,
	       sp->dur_ns, sp->status == STORE_SPAN_ERROR ? "error" : "ok");
	printf(" kind=%s", sp->kind);
	printf(" message=[%s] name=[%s] attrs:",
	       sp->status == STORE_SPAN_ERROR && sp->message ? sp->message
							      : "",
	       sp->name);
	for (size_t i = 0; i < n; i++) {
		/* Newlines (a stack) would split the line. */
		for (char *p = attrs[i].text; *p; p++)
			if (*p == '\n')
				*p = '|';
		printf(" %s=%s", attrs[i].key, attrs[i].text);
		free(attrs[i].key);
		free(attrs[i].text);
	}
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	struct store *st = NULL;
	char *cause = NULL;
	bool sent;
	int ret = 1;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "sent"))) {
		fprintf(stderr, "usage: export-otlp-dump STORE RUN [sent]\n");
		return 2;
	}
	sent = argc == 4;
	if (store_open(&st, argv[1], &cause) < 0 ||
	    store_spans_each(st, strtoll(argv[2], NULL, 10), print_span,
			     &sent, &cause) < 0) {
		fprintf(stderr, "export-otlp-dump: %s\n",
			cause ? cause : "failed");
		goto out;
	}
	ret = 0;
out:
	free(cause);
	store_free(st);
	return ret;
}
