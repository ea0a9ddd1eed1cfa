/* afsim: a small user-space program shaped like the OpenAFS client code the
 * "SystemTap for runtime analysis of kernel modules such as AFS" talk probes.
 * Same struct and function names, so the talk's scripts need only their probe
 * points changed (process("afsim") instead of module("openafs")).
 *
 *   afsim [ITERATIONS] [FAIL_EVERY] [READDIRS]
 *
 * Each iteration writes a page through a chain of calls (sys_msync -> ... ->
 * afs_linux_writepage); every FAIL_EVERY-th writepage fails with -EIO, and the
 * error travels back up the chain.  READDIRS calls of afs_linux_readdir follow;
 * when afs_dir_GetVerifiedBlob fails there, the dcache read lock is leaked
 * (the bug of case study 2).  Output is deterministic for given arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>  /* getpid: locks record their last reader, as OpenAFS does with INSTRUMENT_LOCKS */

#define NOINLINE __attribute__((noinline))
#define NDCACHE 8

typedef int afs_int32;
typedef unsigned int afs_uint32;
typedef long long afs_size_t;

struct afs_lock {
    unsigned char wait_states;
    unsigned char excl_locked;
    unsigned short readers_reading;
    unsigned short num_waiting;
    unsigned short spare;
    long pid_last_reader;
    long pid_writer;
    unsigned int src_indicator;
};
typedef struct afs_lock afs_rwlock_t;

struct AFSFid {
    afs_uint32 Volume;
    afs_uint32 Vnode;
    afs_uint32 Unique;
};

struct VenusFid {
    afs_int32 Cell;
    struct AFSFid Fid;
};

struct fcache {
    struct VenusFid fid;
    afs_int32 modTime;
    afs_int32 chunk;
    afs_int32 chunkBytes;
    char states;
};

struct dcache {
    afs_rwlock_t lock;
    afs_rwlock_t tlock;
    afs_rwlock_t mflock;
    afs_size_t validPos;
    afs_int32 index;
    short refCount;
    char dflags;
    char mflags;
    struct fcache f;
};

struct vcache {
    struct VenusFid fid;
    afs_rwlock_t lock;
    afs_size_t length;
    struct dcache *dchint;
};

struct page {
    unsigned long index;
    struct vcache *host;
};

struct writeback_control {
    long nr_to_write;
    int for_reclaim;
    int for_kupdate;
};

static struct dcache dcaches[NDCACHE];
static struct vcache the_vcache;
static long iteration;
static long fail_every = 4;

static void ObtainReadLock(struct afs_lock *lock) { lock->readers_reading++; lock->pid_last_reader = getpid(); }
static void ReleaseReadLock(struct afs_lock *lock) { lock->readers_reading--; }

NOINLINE struct dcache *afs_GetDCache(struct vcache *avc, afs_size_t abyte)
{
    struct dcache *tdc = &dcaches[(abyte >> 12) % NDCACHE];
    tdc->refCount++;
    tdc->f.fid = avc->fid;
    tdc->validPos = abyte;
    avc->dchint = tdc;
    return tdc;
}

NOINLINE void afs_PutDCache(struct dcache *adc)
{
    adc->refCount--;
}

NOINLINE int afs_linux_writepage(struct page *pp, struct writeback_control *wbc)
{
    struct dcache *tdc = afs_GetDCache(pp->host, (afs_size_t)pp->index << 12);
    int code = 0;
    ObtainReadLock(&tdc->lock);
    if (fail_every > 0 && iteration % fail_every == fail_every - 1)
        code = -EIO;
    ReleaseReadLock(&tdc->lock);
    afs_PutDCache(tdc);
    wbc->nr_to_write--;
    return code;
}

NOINLINE int write_cache_pages(struct page *pp, struct writeback_control *wbc)
{
    /* like the kernel: a writepage error is recorded on the mapping, not returned */
    return afs_linux_writepage(pp, wbc) < 0 ? 0 : 0;
}

NOINLINE int do_writepages(struct page *pp, struct writeback_control *wbc)
{
    return write_cache_pages(pp, wbc);
}

NOINLINE int __filemap_fdatawrite_range(struct page *pp)
{
    struct writeback_control wbc = { .nr_to_write = 1, .for_reclaim = 0, .for_kupdate = 0 };
    return do_writepages(pp, &wbc);
}

NOINLINE int wait_on_page_writeback_range(struct page *pp)
{
    /* the error recorded by the failed writepage surfaces here */
    return (fail_every > 0 && iteration % fail_every == fail_every - 1) ? -EIO : (int)(pp->index & 0);
}

NOINLINE int filemap_write_and_wait_range(struct page *pp)
{
    int err = __filemap_fdatawrite_range(pp);
    int err2 = wait_on_page_writeback_range(pp);
    return err ? err : err2;
}

NOINLINE int vfs_fsync_range(struct page *pp) { return filemap_write_and_wait_range(pp); }
NOINLINE int vfs_fsync(struct page *pp) { return vfs_fsync_range(pp); }
NOINLINE int sys_msync(struct page *pp) { return vfs_fsync(pp); }

NOINLINE int afs_dir_GetVerifiedBlob(struct dcache *tdc, int blobno)
{
    return (tdc->index + blobno) >= 0 ? 0 : -1;
}

/* Case study 2's bug: when afs_dir_GetVerifiedBlob fails, the read lock is not released. */
NOINLINE int afs_linux_readdir(struct vcache *avc, int blobno)
{
    struct dcache *tdc = afs_GetDCache(avc, 0);
    int code;
    ObtainReadLock(&tdc->lock);
    code = afs_dir_GetVerifiedBlob(tdc, blobno);
    if (code) {
        afs_PutDCache(tdc);
        return -ENOENT;
    }
    ReleaseReadLock(&tdc->lock);
    afs_PutDCache(tdc);
    return 0;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 12;
    long readdirs = argc > 3 ? atol(argv[3]) : 3;
    long failures = 0;
    struct page pg = { 0, &the_vcache };

    if (argc > 2)
        fail_every = atol(argv[2]);
    the_vcache.fid = (struct VenusFid){ 1, { 536870918, 2, 3 } };
    for (int i = 0; i < NDCACHE; i++)
        dcaches[i].index = i;
    for (iteration = 0; iteration < iterations; iteration++) {
        pg.index = (unsigned long)iteration;
        if (sys_msync(&pg) < 0)
            failures++;
    }
    for (long i = 0; i < readdirs; i++)
        afs_linux_readdir(&the_vcache, (int)i);
    printf("afsim: %ld writes, %ld failed with EIO, %ld readdirs, dcache[0] readers %u\n",
           iterations, failures, readdirs, dcaches[0].lock.readers_reading);
    return 0;
}
