/* report.c: the table of report writers, found by name. */
#include "report/report.h"

#include <string.h>

const struct report_writer *const report_writers[] = {
	&report_text_writer,
	&report_terminal_writer,
	&report_markdown_writer,
	&report_json_writer,
	&report_junit_writer,
	&report_html_writer,
	&report_dot_writer,
	&report_chrome_writer,
	NULL,
};

const struct report_writer *report_writer_find(const char *name)
{
	for (size_t i = 0; report_writers[i]; i++)
		if (!strcmp(report_writers[i]->name, name))
			return report_writers[i];
	return NULL;
}
