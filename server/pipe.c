// SPDX-License-Identifier: MIT
/*
 * Ordered parallel pipeline (see cli.h): workers claim items in order, each
 * into a free slot, and run them in parallel; the caller takes results back
 * strictly in order. At most `slots` items are in flight, which bounds memory
 * to the caller's per-slot buffers whatever the image size.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "cli.h"

/** State of one slot. */
enum pipe_slot_state {
    PIPE_SLOT_FREE = 0, /**< on the free list */
    PIPE_SLOT_BUSY = 1, /**< a worker is on it */
    PIPE_SLOT_DONE = 2, /**< result waiting for the caller */
    PIPE_SLOT_HELD = 3, /**< returned by tc_pipe_next, not yet released */
};

/** One slot. */
struct pipe_slot {
    enum pipe_slot_state state; /**< see enum */
    uint64_t seq;               /**< item in it */
    int rc;                     /**< the work's result */
};

/** The pipeline. */
struct tc_pipe {
    int (*work)(void *ctx, uint64_t seq, unsigned slot); /**< the per-item work */
    void *ctx;                                           /**< passed to work */
    uint64_t count;                                      /**< items in all */
    uint64_t next_claim;                                 /**< next item a worker takes */
    uint64_t next_out;                                   /**< next item the caller gets */
    unsigned nslots;                                     /**< slots */
    struct pipe_slot *slots;                             /**< nslots entries */
    unsigned *free_list;                                 /**< free slot indices (a stack) */
    unsigned nfree;                                      /**< entries in free_list */
    unsigned nthreads;                                   /**< threads started */
    pthread_t *threads;                                  /**< the workers */
    int stop;                                            /**< workers must exit */
    pthread_mutex_t lock;                                /**< guards all of the above */
    pthread_cond_t cond;                                 /**< any state change */
};

/**
 * Worker: claim the next item and a free slot, work on it unlocked, post the
 * result. Items are claimed in order, so the item the caller waits for is
 * always being worked on or done: no deadlock however small the pool.
 */
static void *pipe_worker(void *arg)
{
    struct tc_pipe *p = arg;
    uint64_t seq;
    unsigned slot;
    int rc;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->next_claim < p->count && p->nfree == 0)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop || p->next_claim >= p->count)
            break;
        seq = p->next_claim++;
        slot = p->free_list[--p->nfree];
        p->slots[slot].state = PIPE_SLOT_BUSY;
        p->slots[slot].seq = seq;
        pthread_mutex_unlock(&p->lock);

        rc = p->work(p->ctx, seq, slot);

        pthread_mutex_lock(&p->lock);
        p->slots[slot].rc = rc;
        p->slots[slot].state = PIPE_SLOT_DONE;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/**
 * Allocate the slots and start the workers.
 */
int tc_pipe_start(struct tc_pipe **out, int (*work)(void *ctx, uint64_t seq, unsigned slot),
                  void *ctx, unsigned threads, unsigned slots, uint64_t count)
{
    struct tc_pipe *p;
    unsigned i;
    int rc;

    *out = NULL;
    if (threads == 0 || slots == 0)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->work = work;
    p->ctx = ctx;
    p->count = count;
    p->nslots = slots;
    p->slots = calloc(slots, sizeof(*p->slots));
    p->free_list = calloc(slots, sizeof(*p->free_list));
    p->threads = calloc(threads, sizeof(*p->threads));
    if (!p->slots || !p->free_list || !p->threads) {
        rc = -ENOMEM;
        goto err_free;
    }
    for (i = 0; i < slots; i++)
        p->free_list[p->nfree++] = slots - 1 - i;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    for (i = 0; i < threads; i++) {
        rc = -pthread_create(&p->threads[i], NULL, pipe_worker, p);
        if (rc < 0)
            goto err_stop;
        p->nthreads++;
    }
    *out = p;
    return 0;

err_stop:
    tc_pipe_stop(p);
    tc_pipe_free(p);
    return rc;
err_free:
    free(p->threads);
    free(p->free_list);
    free(p->slots);
    free(p);
    return rc;
}

/**
 * Find the slot holding item seq in state DONE, or nslots (lock held).
 */
static unsigned pipe_find_done(const struct tc_pipe *p, uint64_t seq)
{
    unsigned i;

    for (i = 0; i < p->nslots; i++)
        if (p->slots[i].state == PIPE_SLOT_DONE && p->slots[i].seq == seq)
            return i;
    return p->nslots;
}

/**
 * The next item in order, once its work is done.
 */
int tc_pipe_next(struct tc_pipe *p, uint64_t *seq, unsigned *slot)
{
    unsigned s;
    int rc;

    pthread_mutex_lock(&p->lock);
    if (p->next_out >= p->count) {
        pthread_mutex_unlock(&p->lock);
        return 1;
    }
    for (;;) {
        s = pipe_find_done(p, p->next_out);
        if (s < p->nslots)
            break;
        pthread_cond_wait(&p->cond, &p->lock);
    }
    p->slots[s].state = PIPE_SLOT_HELD;
    *seq = p->next_out++;
    *slot = s;
    rc = p->slots[s].rc;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/**
 * Give a slot back (from any thread).
 */
void tc_pipe_release(struct tc_pipe *p, unsigned slot)
{
    pthread_mutex_lock(&p->lock);
    assert(slot < p->nslots && p->slots[slot].state == PIPE_SLOT_HELD);
    p->slots[slot].state = PIPE_SLOT_FREE;
    p->free_list[p->nfree++] = slot;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/**
 * Tell the workers to stop after their current item and join them.
 */
void tc_pipe_stop(struct tc_pipe *p)
{
    unsigned i;

    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

/**
 * Free a stopped pipeline.
 */
void tc_pipe_free(struct tc_pipe *p)
{
    if (!p)
        return;
    assert(p->nthreads == 0);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p->free_list);
    free(p->slots);
    free(p);
}
