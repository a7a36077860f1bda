/* templates.h: the report templates of reports/, built into the binary by
 * report-embed (embed.c). Each is the file's text, NUL-terminated. */
#ifndef HARNESS_REPORT_TEMPLATES_H
#define HARNESS_REPORT_TEMPLATES_H

extern const char report_tmpl_report_html[];	/* the page */
extern const char report_tmpl_report_css[];	/* its style sheet */
extern const char report_tmpl_report_js[];	/* its small script */
extern const char report_tmpl_cdf_gp[];		/* latency CDF */
extern const char report_tmpl_drift_gp[];	/* duration over the run */
extern const char report_tmpl_throughput_gp[];	/* completions per second */
extern const char report_tmpl_change_gp[];	/* change per operation */

#endif
