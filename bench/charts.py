"""The charts of `make bench`, drawn with gnuplot: requests.png (requests/s per case) and
sweep.png (the connection sweep, requests/s and p99)."""
import subprocess

from common import MAIN_CONNECTIONS


def gnuplot(data, directory, results):
    """The charts into `results`, their data files into `directory`."""
    main = data["main"]
    bars = directory / "requests.dat"
    bars.write_text("".join(f"\"{r['case']}\" {r['rps']:.1f}\n" for r in main))
    sweep = directory / "sweep.dat"
    sweep.write_text("".join(
        f"{s['connections']} {s['floor_a']:.1f} {s['floor_b']:.1f} {s['check']:.1f} {s['floor_b_plain']:.1f} "
        f"{s['floor_b_p99_ms']:.3f} {s['floor_b_plain_p99_ms']:.3f} {s['check_p99_ms']:.3f}\n" for s in data["sweep"]))
    title = f"otp-fcgi bench, {data['meta']['date']}, {data['meta']['commit']}"
    script = f"""
set terminal pngcairo noenhanced size 1000,560 font "sans,10"
set output "{results / 'requests.png'}"
set title "Requests/s at {MAIN_CONNECTIONS} connections ({title})"
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set ylabel "requests/s (log scale)"
set logscale y
set yrange [10:*]
set xtics rotate by -25
unset key
plot "{bars}" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \\
     "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8
set terminal pngcairo noenhanced size 1200,560 font "sans,10"
set output "{results / 'sweep.png'}"
set multiplot layout 1,2 title "Step-up check (auth_request) vs floors, by wrk connections ({title})"
set title "requests/s"
set logscale xy
set xrange [0.8:160]
set yrange [*:*]
set xtics (1, 8, 32, 128) norotate
set grid xtics ytics
unset xlabel
set ylabel "requests/s (log scale)"
set key outside below center horizontal
plot "{sweep}" using 1:2 with linespoints lw 2 pt 7 title "floor A", \\
     "" using 1:3 with linespoints lw 2 pt 5 title "floor B", \\
     "" using 1:5 with linespoints lw 2 pt 4 dt 2 title "floor B, no mutex", \\
     "" using 1:4 with linespoints lw 2 pt 9 title "step-up-check"
set title "p99 latency"
set ylabel "p99 ms (log scale)"
set key outside below center horizontal
plot "{sweep}" using 1:6 with linespoints lw 2 pt 5 lc 2 title "floor B", \\
     "" using 1:7 with linespoints lw 2 pt 4 dt 2 lc 3 title "floor B, no mutex", \\
     "" using 1:8 with linespoints lw 2 pt 9 lc 4 title "step-up-check"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
