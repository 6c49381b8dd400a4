-- The same request every time (floors, health): wrk's static request path.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
