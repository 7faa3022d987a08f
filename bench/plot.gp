# Plots from the files summarize.py and shmring-bench write (run inside bench/results).
set terminal pngcairo size 1000,600 noenhanced
set datafile missing "NaN"

set output "throughput_vs_size.png"
set title "Throughput vs record size, 1->1 cross-process (median, main placement)"
set logscale xy
set xlabel "record size (bytes)"
set ylabel "GB/s of payload"
set key outside right
stats "tput.dat" skip 1 nooutput
ncols = STATS_columns
plot for [i=2:ncols] "tput.dat" using 1:i with linespoints title columnheader(i)

set output "latency_64B.png"
set title "One-way latency, 64 B, paced 10 k/s (median of runs)"
unset logscale x
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8
set xtics rotate by -35
set ylabel "microseconds"
set xlabel ""
plot "lat.dat" using 2:xtic(1) title "p50", "" using 3 title "p99", "" using 4 title "p99.9"

reset
set terminal pngcairo size 1000,900 noenhanced
set datafile separator ","
set output "overload.png"
set multiplot layout 3,1 title "Overload: lambda 200k/s offered, mu 100k/s served"
set key outside right
set xlabel "time (ms)"
set ylabel "queue depth (records)"
plot for [s in "shmring-block shmring-reject shmring-overwrite uds-stream"] "overload_".s.".csv" using 1:6 with lines title s
set ylabel "p99 latency in window (us)"
set logscale y
plot for [s in "shmring-block shmring-reject shmring-overwrite uds-stream"] "overload_".s.".csv" using 1:10 with lines title s
unset logscale y
set ylabel "loss rate in window"
plot for [s in "shmring-block shmring-reject shmring-overwrite uds-stream"] "overload_".s.".csv" using 1:7 with lines title s
unset multiplot
