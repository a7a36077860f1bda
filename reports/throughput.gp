# throughput.gp: iterations finished per second of the run. The writer
# sets: datafile (second from the start, finished, failed).
set title "Throughput over time"
set xlabel "time since start (s)"
set ylabel "iterations finished per second"
set grid
set key top right
set yrange [0:*]
set style fill solid .75 border -1
set boxwidth .8 relative
plot datafile using 1:2 with boxes lc rgb "#4e79a7" title "finished", \
     datafile using 1:3 with boxes lc rgb "#e15759" title "failed"
