# drift.gp: each iteration's duration in run order, to show warm-up and
# drift. The writer sets: datafile (seq, ms, state: 0 counted, 1 warm-up,
# 2 failed) and median (ms, of the counted iterations). For a comparison
# also basefile and basemedian (the base run's), basetitle and headtitle:
# then base is drawn in blue and head in orange.
set title "Iteration duration over the run"
set xlabel "iteration"
set ylabel "duration (ms)"
set grid
set key top right
set yrange [0:*]
set autoscale xfix
set offsets 0.5, 0.5, 0, 0
if (exists("basefile")) {
	set title "Iteration duration over the run, base and head"
	set key outside bottom center horizontal
	plot basefile using 1:($3 == 0 ? $2 : NaN) with linespoints pt 7 \
		ps .6 lc rgb "#4e79a7" title basetitle, \
	     datafile using 1:($3 == 0 ? $2 : NaN) with linespoints pt 7 \
		ps .6 lc rgb "#f28e2b" title headtitle, \
	     basefile using 1:($3 == 1 ? $2 : NaN) with points pt 6 ps 1 \
		lc rgb "#4e79a7" notitle, \
	     datafile using 1:($3 == 1 ? $2 : NaN) with points pt 6 ps 1 \
		lc rgb "#f28e2b" title "warm-up (hollow)", \
	     basefile using 1:($3 == 2 ? $2 : NaN) with points pt 2 ps 1.4 \
		lc rgb "#e15759" notitle, \
	     datafile using 1:($3 == 2 ? $2 : NaN) with points pt 2 ps 1.4 \
		lc rgb "#e15759" title "failed", \
	     basemedian with lines dt 2 lc rgb "#4e79a7" notitle, \
	     median with lines dt 2 lc rgb "#f28e2b" title "medians"
} else {
	plot datafile using 1:($3 == 0 ? $2 : NaN) with linespoints pt 7 \
		ps .6 lc rgb "#4e79a7" title "counted", \
	     datafile using 1:($3 == 1 ? $2 : NaN) with points pt 6 ps 1 \
		lc rgb "#9c755f" title "warm-up", \
	     datafile using 1:($3 == 2 ? $2 : NaN) with points pt 2 ps 1.4 \
		lc rgb "#e15759" title "failed", \
	     median with lines dt 2 lc rgb "#59a14f" title "median"
}
