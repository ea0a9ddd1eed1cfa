/* LD_PRELOAD shim for Debian's stapbpf in containers: stapbpf raises RLIMIT_MEMLOCK to
   infinity and gives up when that is refused. Since Linux 5.11 BPF memory is charged to
   the memory cgroup, so the limit does not matter and pretending it was raised is safe. */
struct rlimit;

int setrlimit(int resource, const struct rlimit *limit)
{
    (void)resource;
    (void)limit;
    return 0;
}

int setrlimit64(int resource, const struct rlimit *limit)
{
    (void)resource;
    (void)limit;
    return 0;
}
