/* gnuplot.h: the gnuplot driver: charts drawn by gnuplot run as a child
 * process on a script from reports/ and data files in a scratch
 * directory. Internal to harness/report/. */
#ifndef HARNESS_REPORT_GNUPLOT_H
#define HARNESS_REPORT_GNUPLOT_H

#include <stddef.h>

struct gnuplot {
	char *program;	/* the gnuplot found */
	char *dir;	/* scratch directory, removed by gnuplot_release */
	unsigned nfiles;
};

/* Find gnuplot: PROGRAM itself when it holds a '/', else PROGRAM (NULL:
 * "gnuplot") on PATH; make the scratch directory. Returns 1 when there is
 * no gnuplot (nothing to release), 0 when found, -1 with *cause set on
 * failure. */
int gnuplot_init(struct gnuplot *gp, const char *program, char **cause);
void gnuplot_release(struct gnuplot *gp);

/* A new data file in the scratch directory, named after NAME; *path is
 * the caller's to free. */
char *gnuplot_data_path(struct gnuplot *gp, const char *name);

/* Draw TEMPLATE (a script of reports/) after the statements VARS, on
 * TERMINAL ("svg" or "png"), into the file PATH; the chart's size in
 * pixels is WIDTH x HEIGHT. */
int gnuplot_draw(struct gnuplot *gp, const char *template, const char *vars,
		 const char *terminal, int width, int height,
		 const char *path, char **cause);

#endif
