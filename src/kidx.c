/*
 * kidx.c - see kidx.h.  Slots hold a key and the index of its newest
 * entry; entries link to the previous entry of the same key.
 */
#include "kidx.h"

#include "ltd.h"

#include <stdlib.h>
#include <string.h>

struct kidx_slot {
    uint64_t key;
    uint32_t head; /* newest entry of key, kidx_none if its list is empty */
    uint32_t used; /* 1 when key is set (key 0 is a valid key) */
};

struct kidx_entry {
    uint64_t value;
    uint32_t prev; /* older entry of the same key, or kidx_none */
    uint32_t slot; /* the key's slot (rewritten on rehash) */
};

enum { kidx_slots_min = 1024, kidx_ents_min = 1024 };

/* 64-bit finaliser (splitmix64): keys are hash prefixes already, but a
 * caller may use small integers too. */
static uint32_t
kidx_hash(uint64_t k, uint32_t mask)
{
    k ^= k >> 30;
    k *= UINT64_C(0xbf58476d1ce4e5b9);
    k ^= k >> 27;
    k *= UINT64_C(0x94d049bb133111eb);
    k ^= k >> 31;
    return (uint32_t)k & mask;
}

void
kidx_init(struct kidx *m)
{
    memset(m, 0, sizeof *m);
}

void
kidx_release(struct kidx *m)
{
    free(m->slots);
    free(m->ents);
    memset(m, 0, sizeof *m);
}

/* The slot of key, or the empty slot where it would go. */
static uint32_t
kidx_find(const struct kidx *m, uint64_t key)
{
    uint32_t mask = m->n_slots - 1, i = kidx_hash(key, mask);
    for (;;) {
        const struct kidx_slot *s = &m->slots[i];
        if (!s->used || s->key == key)
            return i;
        i = (i + 1) & mask;
    }
}

static void
kidx_grow(struct kidx *m)
{
    uint32_t n = m->n_slots ? m->n_slots * 2 : kidx_slots_min;
    LTD_ASSERT(n > m->n_slots); /* no wrap */
    struct kidx_slot *old = m->slots;
    uint32_t old_n = m->n_slots;
    m->slots = xcalloc(n, sizeof *m->slots);
    m->n_slots = n;
    for (uint32_t i = 0; i < old_n; i++) {
        if (!old[i].used)
            continue;
        uint32_t j = kidx_find(m, old[i].key);
        m->slots[j] = old[i];
        for (uint32_t e = old[i].head; e != kidx_none; e = m->ents[e].prev)
            m->ents[e].slot = j;
    }
    free(old);
}

void
kidx_add(struct kidx *m, uint64_t key, uint64_t value)
{
    LTD_ASSERT(m->n_ents < kidx_values_max);
    /* load factor at most 1/2 keeps probes short */
    if ((uint64_t)(m->n_keys + 1) * 2 > m->n_slots)
        kidx_grow(m);
    if (m->n_ents == m->cap_ents) {
        uint32_t cap = m->cap_ents ? m->cap_ents : kidx_ents_min;
        while (cap <= m->n_ents)
            cap = cap > kidx_values_max / 2 ? kidx_values_max : cap * 2;
        m->ents = xrealloc(m->ents, (size_t)cap * sizeof *m->ents);
        m->cap_ents = cap;
    }
    uint32_t i = kidx_find(m, key);
    struct kidx_slot *s = &m->slots[i];
    if (!s->used) {
        s->used = 1;
        s->key = key;
        s->head = kidx_none;
        m->n_keys++;
    }
    uint32_t e = m->n_ents++;
    m->ents[e].value = value;
    m->ents[e].prev = s->head;
    m->ents[e].slot = i;
    s->head = e;
}

uint32_t
kidx_mark(const struct kidx *m)
{
    return m->n_ents;
}

void
kidx_truncate(struct kidx *m, uint32_t mark)
{
    LTD_ASSERT(mark <= m->n_ents);
    while (m->n_ents > mark) {
        uint32_t e = --m->n_ents;
        struct kidx_slot *s = &m->slots[m->ents[e].slot];
        LTD_ASSERT(s->used && s->head == e); /* lists are stacks */
        s->head = m->ents[e].prev;           /* the key keeps its slot */
    }
}

size_t
kidx_get(const struct kidx *m, uint64_t key, uint64_t *out, size_t max)
{
    if (m->n_slots == 0)
        return 0;
    const struct kidx_slot *s = &m->slots[kidx_find(m, key)];
    if (!s->used)
        return 0;
    size_t n = 0;
    for (uint32_t e = s->head; e != kidx_none; e = m->ents[e].prev) {
        if (n < max)
            out[n] = m->ents[e].value;
        n++;
    }
    return n;
}

size_t
kidx_bytes(const struct kidx *m)
{
    return (size_t)m->n_slots * sizeof *m->slots + (size_t)m->cap_ents * sizeof *m->ents;
}
