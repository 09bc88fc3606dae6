# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The benchmark chart: median wall time of one test send per client, for each
# mode and one-way delay, with the min–max range as error bars.
#   gnuplot -e "datafile='smtp-chart.dat'; outfile='latest.png'" bench/chart.gp
set terminal pngcairo size 1100,560 font "DejaVu Sans,11"
set output outfile
set title "One test send through a delay proxy to Postfix (AUTH PLAIN): median, bar = min–max"
set ylabel "wall time, ms"
set xlabel "security and one-way delay"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set key top left
set datafile missing "NaN"
plot datafile using 2:3:4:xtic(1) title "heraldctl" lc rgb "#3584e4", \
     ''       using 5:6:7          title "swaks"     lc rgb "#9a9996", \
     ''       using 8:9:10         title "curl"      lc rgb "#e66100", \
     ''       using 11:12:13       title "msmtp"     lc rgb "#2ec27e"
