# cdf.gp: the distribution of iteration latency as a cumulative curve.
# The writer sets: datafile (ms, fraction; sorted), p50, p90, p99 (ms).
# For a comparison also basefile (the base run's, same layout), basep50,
# basep90, and the legend's names basetitle and headtitle: then both
# curves are drawn, base in blue and head in orange, with their medians.
set title "Iteration latency (CDF)"
set xlabel "latency (ms)"
set ylabel "fraction of iterations"
set yrange [0:1.02]
set xrange [0:*]
set grid
set key bottom right
if (exists("basefile")) {
	set title "Iteration latency (CDF), base and head"
	set key below
	set arrow 1 from basep50, graph 0 to basep50, graph 1 nohead dt 2 \
		lc rgb "#4e79a7"
	set arrow 2 from p50, graph 0 to p50, graph 1 nohead dt 2 \
		lc rgb "#f28e2b"
	plot basefile using 1:2 with steps lw 2 lc rgb "#4e79a7" \
		title sprintf("%s: p50 %.1f ms, p90 %.1f ms", basetitle, \
		basep50, basep90), \
	     datafile using 1:2 with steps lw 2 lc rgb "#f28e2b" \
		title sprintf("%s: p50 %.1f ms, p90 %.1f ms", headtitle, \
		p50, p90)
} else {
	set arrow 1 from p50, graph 0 to p50, graph 1 nohead dt 2 \
		lc rgb "#59a14f"
	set arrow 2 from p90, graph 0 to p90, graph 1 nohead dt 2 \
		lc rgb "#f28e2b"
	set arrow 3 from p99, graph 0 to p99, graph 1 nohead dt 2 \
		lc rgb "#e15759"
	plot datafile using 1:2 with steps lw 2 lc rgb "#4e79a7" \
		title "iterations", \
	     NaN with lines dt 2 lc rgb "#59a14f" \
		title sprintf("p50 %.1f ms", p50), \
	     NaN with lines dt 2 lc rgb "#f28e2b" \
		title sprintf("p90 %.1f ms", p90), \
	     NaN with lines dt 2 lc rgb "#e15759" \
		title sprintf("p99 %.1f ms", p99)
}
