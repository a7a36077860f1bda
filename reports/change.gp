# change.gp: how much each operation's time per iteration changed from
# base to head, one row per operation: a bar from no change to the change
# and a whisker for its confidence interval. The writer sets: datafile
# (row, change, low, high, class: 0 slower, 1 faster, 2 no significant
# change, "label", "value text"; row 0 at the top), nrows, xmin and xmax
# (the interval shown; whiskers beyond it are cut at its edge). The
# change is in the writer's unit (log2 of head / base) and it sets the
# x tics to say what that means in percent.
set termoption noenhanced
set title "Change of time per iteration, head against base\n" . \
	"(log scale; whiskers: confidence interval)"
set yrange [nrows - 0.5:-0.6]
set xrange [xmin:xmax]
set ytics nomirror scale 0
set xtics nomirror
set grid xtics
set key below samplen 2 width -2
set style fill solid .8 noborder
set arrow 1 from 0, graph 0 to 0, graph 1 nohead lw 1.5 lc rgb "#1d2330"
clip(x) = x < xmin ? xmin : x > xmax ? xmax : x
bar(c) = column(5) == c ? clip($2) / 2 : NaN
plot datafile using (NaN):1:ytic(strcol(6)) with points notitle, \
     datafile using (bar(0)):1:(abs(clip($2)) / 2):(0.32) \
		with boxxyerror lc rgb "#e15759" title "slower", \
     datafile using (bar(1)):1:(abs(clip($2)) / 2):(0.32) \
		with boxxyerror lc rgb "#4e79a7" title "faster", \
     datafile using (bar(2)):1:(abs(clip($2)) / 2):(0.32) \
		with boxxyerror lc rgb "#bab0ac" \
		title "no significant change", \
     datafile using (clip($2)):1:(clip($3)):(clip($4)) with xerrorbars \
		pt 7 ps .5 lc rgb "#1d2330" notitle, \
     datafile using (clip($4 > 0 ? $4 : 0)):1:(" " . strcol(7)) \
		with labels left font ",10" tc rgb "#1d2330" notitle
