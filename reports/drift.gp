# drift.gp: each iteration's duration in run order, to show warm-up and
# drift. The writer sets: datafile (seq, ms, state: 0 counted, 1 warm-up,
# 2 failed) and median (ms, of the counted iterations).
set title "Iteration duration over the run"
set xlabel "iteration"
set ylabel "duration (ms)"
set grid
set key top right
set yrange [0:*]
set offsets 0.5, 0.5, 0, 0
plot datafile using 1:($3 == 0 ? $2 : NaN) with linespoints pt 7 ps .6 \
        lc rgb "#4e79a7" title "counted", \
     datafile using 1:($3 == 1 ? $2 : NaN) with points pt 6 ps 1 \
        lc rgb "#9c755f" title "warm-up", \
     datafile using 1:($3 == 2 ? $2 : NaN) with points pt 2 ps 1.4 \
        lc rgb "#e15759" title "failed", \
     median with lines dt 2 lc rgb "#59a14f" title "median"
