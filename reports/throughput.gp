# throughput.gp: iterations finished per second of the run. The writer
# sets: datafile (second from the start, finished, failed). For a
# comparison also basefile (the base run's), basetitle and headtitle:
# then both are drawn as steps, base in blue and head in orange.
set title "Throughput over time"
set xlabel "time since start (s)"
set ylabel "iterations finished per second"
set grid
set key top right
set yrange [0:*]
if (exists("basefile")) {
	set title "Throughput over time, base and head"
	plot basefile using 1:2 with histeps lw 2 lc rgb "#4e79a7" \
		title basetitle, \
	     datafile using 1:2 with histeps lw 2 lc rgb "#f28e2b" \
		title headtitle, \
	     basefile using 1:($3 > 0 ? $3 : NaN) with points pt 2 \
		lc rgb "#e15759" title "failed", \
	     datafile using 1:($3 > 0 ? $3 : NaN) with points pt 2 \
		lc rgb "#e15759" notitle
} else {
	set style fill solid .75 border -1
	set boxwidth .8 relative
	plot datafile using 1:2 with boxes lc rgb "#4e79a7" \
		title "finished", \
	     datafile using 1:3 with boxes lc rgb "#e15759" title "failed"
}
