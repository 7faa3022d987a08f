/*
 * shmring 1.0 -- checked model of the claim / commit / abort / read / cursor-commit /
 * reclaim / eviction protocol AS IMPLEMENTED (libshmring/src/producer.cc,
 * producer_room.cc, reader.cc, recovery.cc, record.h as of commit 6ed7b8b), with a crash
 * action before every shared-memory step of every producer, reader and reclaimer.
 *
 * Spec: PROTOCOL.md (§n) and RECOVERY.md (R§n). What is abstracted: RECOVERY.md §8.
 * Run:  spec/check-model.sh   (safety and liveness configurations, exhaustive; RECOVERY §8.4)
 *
 * Units: one unit = one 32-byte record header (kRecordHeaderSize). A record is 1 or 2
 * units (payload 0 or 32 bytes), so wrap padding is always >= 32 bytes, i.e. an
 * explicit PADDING header (§3.3); implicit (< 32 byte) padding is not modelled.
 * Positions are small integers that only grow (no 2^64 wrap); offset = pos % CAP.
 * Memory is sequentially consistent: every atomic{} below is one access (or a group of
 * accesses whose order no other process can observe, see RECOVERY §8.3).
 */

/* ---------- configuration ---------- */
#ifndef CAP
#define CAP 4            /* ring capacity, units (power of two) */
#endif
#ifndef MAXT
#define MAXT 8           /* producers stop when a claim would end past this position */
#endif
#ifndef NP
#define NP 2             /* producer slots (one producer process each, plus takeovers) */
#endif
#ifndef NG
#define NG 1             /* consumer groups (one reader process each) */
#endif
#ifndef MAXPC
#define MAXPC 1          /* producer-side crashes (producers, taking-over producers) */
#endif
#ifndef MAXRC
#define MAXRC 1          /* reader-side crashes (readers, reclaiming readers) */
#endif
#ifndef MAXABORT
#define MAXABORT 1       /* aborted reservations, all producers together */
#endif
#ifndef MAXB
#define MAXB 2           /* records per Poll (Reader::Poll(max)) */
#endif
#ifndef MAXREC
#define MAXREC 2         /* max_record, in units of RecordSize */
#endif
#ifndef EVSLACK
#define EVSLACK 1        /* capacity/8, in units, by which MakeRoom over-advances evicted groups */
#endif
/* Optional part (RECOVERY §8.4); see spec/check-model.sh.
 *   EVICT         eviction of a group whose reader is dead (TryEvict, AdvanceGroup,
 *                 NoteJournalOutcome; PROTOCOL §4.2.3-§4.2.4, RECOVERY §4) */

/* ---------- layout.h ---------- */
#define BUSY      1      /* RecordState */
#define COMMITTED 2
#define PADDING   3
#define SKIP      4
#define ABANDONED 5
#define W(p,s)    ((p)*8+(s))       /* header word = pos | state */
#define WPOS(w)   ((w)/8)
#define WST(w)    ((w)%8)
#define EVBIT     4                 /* kCursorEvicted; tag = generation & 3 in bits 0-1 */
#define CPOS(w)   ((w)/8)
#define CONF      8                 /* kIntentConfirmed, in claim_len */
#define ILEN(cl)  ((cl)%CONF)
#define JUNKNOWN  0                 /* journal_outcome */
#define JHAPPENED 1
#define JNOTHAPP  2

/* Inspect kinds (record.h RecordKind) */
#define K_NOTREADY  0
#define K_DATA      1
#define K_PADDING   2
#define K_SKIP      3
#define K_ABANDONED 4
#define K_BUSY      5
#define K_CORRUPT   6

/* ---------- shared memory ---------- */
byte tail;                       /* control.tail (LAYOUT §3) */
byte hw[CAP];                    /* record header word at each offset (LAYOUT §6) */
byte hlen[CAP];                  /* header len field, as RecordSize in units */
byte hprod[CAP];                 /* header producer field: slot + 1 */
/* producer slots (LAYOUT §4) */
byte claim_pos[NP];
byte claim_len[NP];              /* len | CONF */
byte pcommitted[NP];
byte pabandoned[NP];
byte pend_c[NP];                 /* counter journal (R§2.1): pend_committed */
byte pend_a[NP];                 /* pend_abandoned */
byte pend_w[NP];                 /* pend_word: the header word the counted CAS in flight publishes */
byte plock[NP];                  /* OFD lock byte: 0 free, 1 owner, 2 a reclaimer (R§1.1) */
/* group slots (LAYOUT §5) */
byte cursor[NG];                 /* pos*8 | evicted | tag */
byte glock[NG];                  /* reader lock byte */
byte generation[NG];
byte delivered[NG];
byte gcorrupt[NG];
byte gabandoned[NG];
byte overwritten[NG];
byte evictions[NG];
byte jstate[NG];                 /* commit journal (R§4.2 / reader.cc JournaledCas) */
byte joutcome[NG];
byte jfrom[NG];
byte jto[NG];
byte jdel[NG];
byte jcor[NG];
byte jab[NG];

/* ---------- ghost state (not in the ring; used by the properties) ---------- */
byte gclaim[MAXT];               /* slot+1 whose tail CAS claimed this position */
byte gst[MAXT];                  /* what the owner (or a reclaimer) put at this record start */
byte glen[MAXT];                 /* RecordSize the owner wrote */
byte gdel[NG*MAXT];              /* times Poll returned the record at p to group g */
bit  gover[NG*MAXT];             /* a producer moved group g's cursor over the record at p */
byte aborts;                     /* reservations aborted so far */
byte pcrash;                     /* producer-side crashes so far */
byte rcrash;                     /* reader-side crashes so far */
byte pfinished;                  /* producer processes that ended (done or dead for good) */
bit  ridle[NG];                  /* reader g idles: everything claimed is read and committed */
byte gabpass[NG];                /* ABANDONED records producers moved group g's cursor over (§9.1:
                                    not in the group's `abandoned`) */
byte jpend[NG];                  /* slot+1 of the first producer that moved g's cursor while its
                                    journal was open, until it records the outcome */
bit  jambig;                     /* a journal was settled while jpend: the residual ambiguity of
                                    RECOVERY §4.5 (a double failure), accounting not exact */
bit  checked;

/* IsClaimBoundary(e, tail) (recovery.cc): the tail, an intent, or a header names e */
#define ISBOUNDARY(e, tl) ((e) == (tl) || (ILEN(claim_len[0]) != 0 && claim_pos[0] == (e)) || \
    (NP > 1 && ILEN(claim_len[NP-1]) != 0 && claim_pos[NP-1] == (e)) || \
    (WPOS(hw[(e) % CAP]) == (e) && WST(hw[(e) % CAP]) != 0))

#define QUIESC (pfinished == NP && ridle[0] && CPOS(cursor[0]) == tail && \
                (NG < 2 || (ridle[NG-1] && CPOS(cursor[NG-1]) == tail)))

/* ---------- helpers ----------
 * Style: every labelled atomic{} is ONE step of the implementation: at most one access
 * to a shared word (or a read-only group, RECOVERY §8.3), preceded by a crash point and
 * followed by the local computation up to the next shared access. Subroutines shared by
 * several call sites (TryReclaimAt, ReclaimSlotIntent) return to the caller's labels
 * tra_done / rsi_done (dispatching on traret / rsiret). */

/* A crash point. isr selects the budget; `death` is the process's crash handler. */
inline CRASH() {
  if
  :: (isr && rcrash < MAXRC) -> rcrash++; goto death
  :: (!isr && pcrash < MAXPC) -> pcrash++; goto death
  :: true
  fi
}

/* §5.1 Inspect(pos, avail) (record.h): word (acq) once, state checks, len once, bounds. */
/* Outputs go to hidden (not stored) scratch, valid only within the calling atomic step:
 * kind, isz (RecordSize), hoff (offset), hrem (bytes to the wrap), hword (the word loaded). */
hidden byte kind, isz, hoff, hrem, hword;

inline Inspect(pos, avail) {
  hoff = (pos) % CAP; hrem = CAP - hoff; hword = hw[hoff]; isz = 0;
  if
  :: (WPOS(hword) != (pos) || WST(hword) == 0) -> kind = K_NOTREADY      /* older lap / fresh memory */
  :: else ->
    if
    :: WST(hword) == PADDING ->
       if
       :: (avail) < hrem -> kind = K_CORRUPT
       :: else -> kind = K_PADDING; isz = hrem
       fi
    :: (WST(hword) == BUSY || WST(hword) == COMMITTED || WST(hword) == SKIP || WST(hword) == ABANDONED) ->
       isz = hlen[hoff];
       if
       :: (((WST(hword) == BUSY || WST(hword) == COMMITTED) && isz > MAXREC) || isz > hrem || isz > (avail)) ->
          kind = K_CORRUPT
       :: else ->
          if
          :: (WST(hword) == BUSY) -> kind = K_BUSY
          :: (WST(hword) == COMMITTED) -> kind = K_DATA
          :: (WST(hword) == SKIP) -> kind = K_SKIP
          :: else -> kind = K_ABANDONED
          fi
       fi
    :: else -> kind = K_CORRUPT
    fi
  fi
}

/* R§3.1 TryReclaimAt(trpos) -> res, and R§3.3-§3.4 ReclaimSlotIntent(s) -> n with
 * ReclaimRegion and WriteOverStale. Expanded once per proctype; the caller sets
 * trpos/traret (or s/rsiret) and jumps to tra (rsi); tra_done / rsi_done go back. */
inline Reclaim() {
  skip;   /* (a label may not open a block) */
tra:   /* for each producer slot j: the claim covering trpos, if its owner is dead. One step
        * per candidate: intent loads (claim_len acq), LockHeld and TryAcquire (RECOVERY §8.3:
        * everything is re-read under the lock) */
  atomic { CRASH();
    do
    :: j >= NP -> res = 0; goto tra_ret
    :: (j < NP && (ILEN(claim_len[j]) == 0 || trpos < claim_pos[j] ||
                   trpos - claim_pos[j] >= ILEN(claim_len[j]) || plock[j] != 0)) -> j++
    :: else -> plock[j] = 2; held = j + 1; s = j; rsiret = 1; goto rsi
    od }
tra_back:
  atomic {                                                          /* lock released */
    plock[j] = 0; held = 0;
    if :: n > 0 -> res = 1; goto tra_ret :: else -> j++; goto tra fi }
tra_ret:
  goto tra_done;

rsi:   /* ReclaimSlotIntent(s) -> (settled, n), holding slot s's lock byte (R§3.3).
        * First SettlePending (R§2.1): pend_word (acq), then the header word (acq) ... */
  atomic { CRASH(); cl = pend_w[s]; if :: cl == 0 -> goto rsi_main :: else fi; w = hw[WPOS(cl) % CAP] }
  atomic { CRASH();                           /* ... then the tail: restore if it did not happen */
    if
    :: (tail - WPOS(cl) <= CAP && w != cl) ->
       if :: WST(cl) == COMMITTED -> pcommitted[s] = pend_c[s] :: else -> pabandoned[s] = pend_a[s] fi
    :: else
    fi;
    w = 0 }
  atomic { CRASH(); pend_w[s] = 0 }
rsi_main:
  atomic { CRASH();
    cl = claim_len[s]; cp = claim_pos[s]; rt = tail; n = 0; settled = 1;  /* claim_len acq, tail acq */
    ln = ILEN(cl); cf = (cl >= CONF); q = cp; k = 0; other = 0;
    if :: ln == 0 -> goto rsi_ret :: else fi;
    if                                                   /* implausible: never claimed, or long gone */
    :: !(cp <= rt && rt - cp >= ln && rt - cp - ln <= CAP) -> claim_len[s] = 0; goto rsi_ret
    :: else
    fi;
    if :: cf -> goto rr :: else -> goto rsi_oth fi }
rsi_oth:  /* unconfirmed: another slot's intent naming cp (one step per slot) */
  atomic {
    if :: k == s -> k++ :: else fi;
    if :: k >= NP -> goto rsi_rival :: else fi;
    CRASH();
    if
    :: (ILEN(claim_len[k]) != 0 && claim_pos[k] == cp) ->
       if
       :: claim_len[k] >= CONF -> claim_len[s] = 0; goto rsi_ret      /* the winner confirmed */
       :: plock[k] != 0 -> settled = 0; goto rsi_ret                   /* live rival: undecided */
       :: else -> if :: ILEN(claim_len[k]) != ln -> other = 1 :: else fi  /* a dead rival */
       fi
    :: else
    fi;
    k++; goto rsi_oth }
rsi_rival:  /* two dead unconfirmed intents of different lengths: IsClaimBoundary decides */
  atomic { CRASH();
    if :: (!other || ISBOUNDARY(cp + ln, rt)) -> goto rr :: else fi;
    other = 0; k = 0;
    do
    :: k < NP -> if :: (k != s && ILEN(claim_len[k]) != 0 && claim_pos[k] == cp &&
                        ISBOUNDARY(cp + ILEN(claim_len[k]), rt)) -> other = 1 :: else fi; k++
    :: else -> break
    od;
    if :: !other -> settled = 0 :: else -> claim_len[s] = 0 fi;        /* not ours / no end known */
    goto rsi_ret }
rr:    /* ReclaimRegion(cp, ln, cf): walk q from cp to cp + ln (R§3.4) */
  atomic {
    if :: q == cp + ln -> goto rsi_settle :: else fi;
    left = cp + ln - q;
    CRASH();
    if                                  /* bytes a later lap may reuse are never written */
    :: tail - q > CAP -> if :: (q == cp && CAP - q % CAP < left) -> q = q + CAP - q % CAP; goto rr
                         :: else -> goto rsi_settle fi
    :: else
    fi;
    Inspect(q, left);                                                /* word acq (+ Inspect's) */
    w = hword; off = hoff;
    if                                                               /* a newer lap wrote here */
    :: (WST(w) != 0 && WPOS(w) > q && (WPOS(w) - q) % CAP == 0 && WPOS(w) - q <= CAP) -> goto rsi_settle
    :: else
    fi;
    if
    :: (WPOS(w) == q && WST(w) != 0) ->
       if :: (!cf && q == cp && hprod[off] != s + 1) -> goto rsi_settle :: else fi;   /* not ours */
       if
       :: kind == K_BUSY -> sz = isz; goto rr_busy
       :: (kind == K_CORRUPT || kind == K_NOTREADY) -> goto rsi_settle
       :: else -> q = q + isz; w = 0; off = 0; goto rr              /* already settled */
       fi
    :: else ->                                                       /* nothing written yet at q */
       if
       :: (q == cp && hrem < left) -> st = PADDING; sz = hrem        /* claim crosses the wrap */
       :: else -> st = ABANDONED; sz = left                          /* the unwritten rest */
       fi;
       goto wos
    fi }
rr_busy:  /* CountedAbandon: journal, count, CAS(word, q|BUSY -> q|ABANDONED) (sc), clear */
  atomic { CRASH(); st = ABANDONED; sz2 = sz; goto counted }
rr_busy_done:
  atomic { q = q + sz2; sz = 0; sz2 = 0; w = 0; off = 0; goto rr }
counted:  /* CountedAbandon(s, q, expected w) -> ok; st = ABANDONED (R§2.1) */
  atomic { CRASH(); pend_a[s] = pabandoned[s]; pend_w[s] = W(q, ABANDONED) }
  atomic { CRASH(); pabandoned[s]++ }
  atomic { CRASH();
    if
    :: hw[off] == w -> hw[off] = W(q, ABANDONED); ok = 1;
       k = q; do :: k < q + sz -> assert(gclaim[k] == s + 1); k++ :: else -> break od;  /* overlap */
       gst[q] = ABANDONED
    :: else -> ok = 0; pabandoned[s] = pend_a[s]                     /* + restore (same step) */
    fi }
  atomic { CRASH(); pend_w[s] = 0;
    if :: ok -> n++ :: else fi;
    if :: sz2 != 0 -> goto rr_busy_done :: else -> goto wos_done fi }
wos:   /* WriteOverStale(q, w, st, sz): fields first ... */
  atomic { CRASH();
    k = q; do :: k < q + sz -> assert(gclaim[k] == s + 1); k++ :: else -> break od;  /* overlap */
    hlen[off] = sz; hprod[off] = s + 1;
    if :: st == ABANDONED -> sz2 = 0; goto counted :: else fi }       /* ... counted, or */
  atomic { CRASH();                                                  /* ... CAS the padding word */
    if :: hw[off] == w -> hw[off] = W(q, st); gst[q] = st; ok = 1 :: else -> ok = 0 fi }
wos_done:
  atomic {
    if
    :: ok -> if :: st == ABANDONED -> q = cp + ln :: else -> q = q + sz fi;
             st = 0; sz = 0; w = 0; off = 0; ok = 0; goto rr
    :: else -> st = 0; sz = 0; goto rsi_settle
    fi }
rsi_settle:
  atomic { CRASH(); claim_len[s] = 0 }                               /* + control.reclaims */
rsi_ret:
  goto rsi_done
}

/* ---------- producer (PROTOCOL §3, §4) ---------- */

#define CURSORS (cursor[0] + (NG > 1 -> 256 * cursor[NG-1] : 0))
#define GLOCKS  (NG > 1 -> glock[0] * glock[NG-1] : glock[0])    /* 0: some reader lock free */
#ifdef EVICT
#define EVICTABLE (GLOCKS == 0)
#else
#define EVICTABLE false
#endif
#define RESET_P  ok = 0; head = 0; c = 0; target = 0; blocker = 0; stuck = 0; res = 0; \
                 to = 0; p = 0; data = 0; dmask = 0; abpass = 0; wv = 0; w = 0; off = 0; \
                 cl = 0; cp = 0; rt = 0; other = 0; q = 0; left = 0; ln = 0; cf = 0; st = 0; sz = 0; sz2 = 0; \
                 k = 0; j = 0; n = 0; s = 0; g = 0; trpos = 0; stuckat = 0
/* §3 step 2 (and §3.3): the claim for `size` at tail snapshot t */
#define CLAIMCALC hrem = CAP - t % CAP; if :: hrem < size -> pad = hrem :: else -> pad = 0 fi; \
                  need = pad + size; end = t + need

#define CLAIMBODY \
    CLAIMCALC; \
    if :: end > MAXT -> goto finish :: else fi; \
    head = t; g = 0; \
    do \
    :: g < NG -> c = CPOS(cursor[g]); if :: (c <= t && t - c <= CAP && c < head) -> head = c :: else fi; g++ \
    :: else -> break \
    od; \
    if \
    :: end - head > CAP -> target = end - CAP; g = 0; wb = CURSORS; goto room \
    :: else -> goto intent \
    fi

proctype Producer(byte i) {
  bit isr = 0;
  byte t, size, pad, need, end, head, pos, c, target, g, ok, res, held, n, j, k, q, left;
  byte off, w, cl, cp, rt, other, blocker, stuck, stuckat, to, p, data, wv, act, abpass;
  byte ln, cf, st, sz, s, trpos, traret, rsiret, settled, sz2;
  int dmask, wb;

start:  /* Reserve(len): counter bases (R§2.1); §3 step 1 t = tail (rlx); step 2; step 3 GatingHead(t) */
  atomic { CRASH(); RESET_P; t = tail;
#ifdef ANYSIZE
    if :: size = 1 :: size = 2 fi;
#else
    size = 1 + i % 2;                    /* producer 0 writes 1-unit records, producer 1 2-unit */
#endif
    CLAIMBODY }
claim:  /* (re)entered with a new t: step 2, step 3 GatingHead (cursor acq per ACTIVE group) */
  atomic { CLAIMBODY }

room:   /* §4.2 MakeRoom(end), block policy: for each ACTIVE group */
  atomic { CRASH();
    wv = cursor[g];
    if :: (CPOS(wv) >= target || end - CPOS(wv) > 2 * CAP) -> goto room_next :: else fi; /* room / ignored */
    if :: (wv & EVBIT) -> to = target + EVSLACK; goto adv :: else -> blocker = 1; goto room_next fi }
adv:    /* §4.2.3 AdvanceGroup(g, target + capacity/8, only_if_evicted): O1 cursor, O2 tail, O3 walk */
  atomic { CRASH();
    w = cursor[g];
    if :: (!(w & EVBIT) || CPOS(w) >= to) -> goto room_next :: else fi;
    rt = tail; p = CPOS(w); data = 0; dmask = 0; abpass = 0; stuckat = 255;
    do
    :: p >= to -> break
    :: else ->
       if
       :: rt == p -> break                                          /* all claimed passed */
       :: rt - p > CAP -> stuckat = p; break
       :: else ->
          Inspect(p, rt - p);
          if
          :: kind == K_DATA -> data++; dmask = dmask | (1 << p); p = p + isz
          :: kind == K_ABANDONED -> abpass++; p = p + isz
          :: (kind == K_PADDING || kind == K_SKIP) -> p = p + isz
          :: else -> stuckat = p; break                             /* BUSY, not ready, corrupt */
          fi
       fi
    od;
    if :: stuckat != 255 -> trpos = stuckat; j = 0; traret = 1; goto tra :: else fi }
  atomic { CRASH();                                                 /* O4 CAS(cursor, w -> p|tags) */
    if
    :: cursor[g] == w ->
       cursor[g] = p * 8 + w % 8;
       gabpass[g] = gabpass[g] + abpass;
       if :: (jstate[g] == 1 && joutcome[g] == JUNKNOWN && jpend[g] == 0) -> jpend[g] = i + 1 :: else fi;
       k = 0; do :: k < MAXT -> if :: (dmask & (1 << k)) -> gover[g*MAXT + k] = 1 :: else fi; k++
                 :: else -> break od
    :: else -> goto adv                                              /* retry from O1 */
    fi;
    overwritten[g] = overwritten[g] + data }                /* O5 */
adv_note: /* NoteJournalOutcome(gs, old word w) */
  atomic { CRASH();
    if :: jstate[g] != 1 -> if :: jpend[g] == i + 1 -> jpend[g] = 0 :: else fi; goto room_next :: else fi }
  atomic { CRASH();
    if :: jpend[g] == i + 1 -> jpend[g] = 0 :: else fi;
    act = JUNKNOWN;
    if :: (w & ~EVBIT) == (jto[g] & ~EVBIT) -> act = JHAPPENED :: else fi;
    if :: (w & ~EVBIT) == (jfrom[g] & ~EVBIT) -> act = JNOTHAPP :: else fi;
    if :: (act != JUNKNOWN && joutcome[g] == JUNKNOWN) -> joutcome[g] = act :: else fi;
    goto room_next }
adv_stuck:  /* AdvanceGroup failed; TryReclaimAt(stuck_at) returned res */
  atomic { if :: res -> goto room_done :: else -> stuck = 1; goto room_next fi }
room_next:
  atomic { g++; if :: g < NG -> goto room :: else -> goto room_done fi }
room_done:
  atomic {
    if
    :: (res || (!blocker && !stuck)) -> goto reload                  /* OK: retry the claim */
    :: else
    fi;
#ifdef EVICT
    if :: blocker -> g = 0; goto evict :: else -> goto deadline fi
#else
    goto deadline
#endif
  }
#ifdef EVICT
evict:  /* §4.2.4 TryEvict(g) for each blocking group */
  atomic { CRASH();
    wv = cursor[g];                                                  /* rlx */
    if :: (CPOS(wv) >= target || (wv & EVBIT)) -> goto evict_next :: else fi }
  atomic { CRASH(); if :: glock[g] != 0 -> goto evict_next :: else fi }   /* LockHeld: live reader */
  /* heartbeat older than evict_after: time is not modelled, so any time after */
  atomic { CRASH(); if :: cursor[g] == wv -> cursor[g] = wv | EVBIT; evictions[g]++ :: else fi }
evict_next:
  atomic { g++; if :: g < NG -> goto evict :: else -> goto deadline fi }
#endif
deadline:  /* §4.2.1: past the deadline -> DEADLINE_EXCEEDED (dropped), else wait a slice */
  if
  :: goto start                        /* dropped (counter not modelled), next record */
  :: stuck -> goto reload              /* an evicted group's head is in flight: retry */
  :: else -> atomic { (CURSORS != wb || EVICTABLE) -> goto reload }  /* futex wait: a cursor
                                          moved, or a reader died (eviction possible) */
  fi;
reload:
  atomic { CRASH(); t = tail; res = 0; blocker = 0; stuck = 0; goto claim }

retract:  /* lost the race for t: retract the intent at once (R§2), then back to step 2 */
  atomic { CRASH(); claim_len[i] = 0; goto claim }
intent: /* step 4: intent claim_pos = t, claim_len = need (rlx) */
  atomic { CRASH(); claim_pos[i] = t; claim_len[i] = need }
  /* step 5: CAS(tail, t -> end) (rel); on failure t = current tail, retract, back to step 2 */
  atomic { CRASH();
    if
    :: tail == t ->
       tail = end;
       k = t; do :: k < end -> gclaim[k] = i + 1; k++ :: else -> break od;
       /* §1: no unconsumed byte is reused: end - cursor <= capacity for every group */
       k = 0; do :: k < NG -> assert(end - CPOS(cursor[k]) <= CAP); k++ :: else -> break od
    :: else -> t = tail; goto retract
    fi }
  atomic { CRASH(); claim_len[i] = need + CONF; pos = t + pad; if :: pad == 0 -> goto busy :: else fi }  /* step 6 */
  atomic { CRASH(); hlen[t % CAP] = pad; hprod[t % CAP] = i + 1; hw[t % CAP] = W(t, PADDING); gst[t] = PADDING }    /* step 7 */
busy:   /* §4.1 W1-W2 WriteBusy: fields, then word = pos|BUSY (rel); W3 payload (abstracted) */
  atomic { CRASH();
    hlen[pos % CAP] = size; hprod[pos % CAP] = i + 1; hw[pos % CAP] = W(pos, BUSY); gst[pos] = BUSY; glen[pos] = size;
    if :: goto commit :: aborts < MAXABORT -> aborts++; goto abort fi }
commit: /* C1 counter journal: pend_committed = committed, pend_word = pos|COMMITTED (rel) */
  atomic { CRASH(); pend_c[i] = pcommitted[i]; pend_w[i] = W(pos, COMMITTED) }
  atomic { CRASH(); pcommitted[i]++ }                               /* C2 committed += 1 */
  atomic { CRASH();                                          /* C3 CAS(word, pos|BUSY -> COMMITTED) */
    if
    :: hw[pos % CAP] == W(pos, BUSY) -> hw[pos % CAP] = W(pos, COMMITTED); gst[pos] = COMMITTED
    :: else -> assert(false)          /* a live producer's claim is never reclaimed (R§3.4) */
    fi }
  atomic { CRASH(); pend_w[i] = 0; goto clear }                     /* C4 pend_word = 0 */
abort:  /* A1 CAS(word, pos|BUSY -> pos|SKIP); aborted += 1 */
  atomic { CRASH();
    if
    :: hw[pos % CAP] == W(pos, BUSY) -> hw[pos % CAP] = W(pos, SKIP); gst[pos] = SKIP  /* aborted++ */
    :: else
    fi }
clear:  /* C5 ClearIntent: claim_len = 0 (rel); C6 MaybeWake (wake-ups not modelled) */
  atomic { CRASH(); claim_len[i] = 0; pos = 0; pad = 0; need = 0; end = 0; goto start }

finish: /* ~Producer: slot FREE, lock released (a stale unconfirmed intent may remain) */
  atomic { plock[i] = 0; pfinished++; goto theend }

death:  /* kill -9: the kernel drops this process's OFD locks (its slot's, a reclaim lock) */
  atomic {
    plock[i] = 0; if :: held -> plock[held - 1] = 0; held = 0 :: else fi;
    if :: pfinished++; goto theend :: true fi }                     /* stays dead, or ... */
  /* R§3.2: a new producer takes the slot over: lock, ReclaimSlotIntent(i) ... */
takeover:
  atomic { plock[i] == 0 -> plock[i] = 1; RESET_P; s = i; rsiret = 2; goto rsi }
takeover_done:  /* ... not settled (a live rival): leave the slot; settled: claim_len = 0, ACTIVE */
  atomic { if :: !settled -> plock[i] = 0; goto death_wait :: else fi;
           CRASH(); claim_len[i] = 0; goto start }                  /* generation++, identity */
death_wait:
  if :: atomic { pfinished++; goto theend } :: goto takeover fi;

  Reclaim();
tra_done: goto adv_stuck;
rsi_done: if :: rsiret == 1 -> goto tra_back :: else -> goto takeover_done fi;
theend:
  skip
}

/* ---------- reader of group g (PROTOCOL §5, §6; RECOVERY §4) ---------- */

/* TryReclaimAt(p) has a candidate: a slot whose intent covers p and whose lock is free */
#define COVERS(j,p) (ILEN(claim_len[j]) != 0 && claim_pos[j] <= (p) && (p) - claim_pos[j] < ILEN(claim_len[j]) \
                     && plock[j] == 0)
#define RECLAIMABLE(p) (COVERS(0,p) || (NP > 1 && COVERS(1,p)) || (NP > 2 && COVERS(NP-1,p)))
/* A crash point chosen up front for a sequence of steps that only the reader itself can
 * observe (Lipton reduction, RECOVERY §8.3): crashat = k crashes just before step k. */
#define CHOOSE_CRASH if :: crashat = 0 :: rcrash < MAXRC -> crashat = 1 :: rcrash < MAXRC -> crashat = 2 \
                       :: rcrash < MAXRC -> crashat = 3 :: rcrash < MAXRC -> crashat = 4 \
                       :: rcrash < MAXRC -> crashat = 5 :: rcrash < MAXRC -> crashat = 6 \
                       :: rcrash < MAXRC -> crashat = 7 :: rcrash < MAXRC -> crashat = 8 fi
#define CRASH_AT(k) if :: crashat == k -> rcrash++; crashat = 0; goto death :: else fi
#ifdef EVICT
#define ASEP } atomic {     /* evicting producers can observe the attach steps: keep them apart */
#else
#define ASEP ;
#endif
#define RESET_R  pos = 0; rtail = 0; off = 0; w = 0; \
                 cnt = 0; res = 0; n = 0; j = 0; k = 0; q = 0; left = 0; cl = 0; cp = 0; rt = 0; \
                 other = 0; ok = 0; wc = 0; from = 0; to = 0; act = 0; ln = 0; cf = 0; st = 0; \
                 sz = 0; sz2 = 0; s = 0; trpos = 0

proctype Reader(byte g) {
  bit isr = 1;
  byte tag, committed, next, pd, pc, pa, pos, rtail, off, w, cnt;
  byte stuckpos, res, held, n, j, k, q, left, cl, cp, rt, other, ok, wc, from, to, act;
  byte ln, cf, st, sz, s, trpos, traret, rsiret, crashat, settled, sz2;

attach: /* §8 Reader::Attach: TryAcquire the group's lock byte (state/name re-checked) */
  atomic { glock[g] == 0 -> glock[g] = 1; ridle[g] = 0; RESET_R; tag = 0; committed = 0; next = 0;
           pd = 0; pc = 0; pa = 0; stuckpos = 255; CHOOSE_CRASH }
  /* SettleJournal (reader.cc, RECOVERY §4.5): the previous reader may have died mid-commit */
  atomic { CRASH_AT(1); if :: jstate[g] != 1 -> goto retag :: else fi            /* acq */
  ASEP CRASH_AT(2); wc = cursor[g] & ~EVBIT                                      /* acq */
  ASEP CRASH_AT(3); from = jfrom[g] & ~EVBIT; to = jto[g] & ~EVBIT; act = joutcome[g];
    if :: (jpend[g] != 0 && act == JUNKNOWN) -> jambig = 1 :: else fi;       /* ghost */
    if :: (act == JHAPPENED || (act != JNOTHAPP && wc == to)) -> skip :: else -> goto jsettled fi
  ASEP CRASH_AT(4); delivered[g] = jdel[g]; gcorrupt[g] = jcor[g]; gabandoned[g] = jab[g]
jsettled:
  ASEP CRASH_AT(5); jstate[g] = 0; jpend[g] = 0
retag:  /* generation += 1; tag = generation & 3 */
  ASEP CRASH_AT(6); generation[g]++; tag = generation[g] % 4; RESET_R
retag_cas:  /* R§4.3 step 4: CAS loop cursor = (cursor & ~7) | tag (acq_rel; clears evicted) */
  ASEP CRASH_AT(7); w = cursor[g]
  ASEP CRASH_AT(8);
    if
    :: cursor[g] == w -> cursor[g] = CPOS(w) * 8 + tag; committed = CPOS(w); next = committed; w = 0
    :: else -> goto retag_cas
    fi }

top:    /* Reader::Poll(MAXB), auto_commit: §6.1 Commit() first, then §5.2 PollInPlace.
         * A live reader's commit is seen by others only through its cursor CAS (a live reader
         * is never evicted), so it is one step whose crash point is chosen up front. */
  atomic {
    RESET_R;
    if :: next == committed -> goto poll :: else fi;
    CHOOSE_CRASH;
    /* JournaledCas: journal (from, to, absolute counters, outcome unknown), state = 1 (rel) */
    CRASH_AT(1);
    jfrom[g] = committed * 8 + tag; jto[g] = next * 8 + tag;
    jdel[g] = delivered[g] + pd; jcor[g] = gcorrupt[g] + pc; jab[g] = gabandoned[g] + pa;
    joutcome[g] = JUNKNOWN; jstate[g] = 1; jpend[g] = 0;
    CRASH_AT(2);                                                             /* R2 CAS (sc) */
    if
    :: cursor[g] == committed * 8 + tag -> cursor[g] = next * 8 + tag
    :: else -> assert(false)   /* R3 fenced: a live reader is never evicted, no zombies */
    fi;
    CRASH_AT(3); delivered[g] = delivered[g] + pd; gcorrupt[g] = gcorrupt[g] + pc;   /* R4 */
    CRASH_AT(4); gabandoned[g] = gabandoned[g] + pa;      /* after fault "reader.mid_counters" */
    CRASH_AT(5); jstate[g] = 0; jpend[g] = 0; pd = 0; pc = 0; pa = 0; committed = next;
    crashat = 0 }

poll:   /* PollInPlace: tail (acq) once */
  atomic { CRASH();
    rtail = tail; pos = next; cnt = 0;
    if :: rtail == next -> ridle[g] = 1; goto idle :: else -> goto insp fi }
idle:   /* nothing claimed past the cursor: a Poll changes nothing until the tail moves */
end_idle:
  atomic { tail != next -> ridle[g] = 0; goto top }
insp:   /* one header per step: avail = min(tail - pos, capacity); Inspect */
  atomic {
    if :: (cnt >= MAXB || rtail == pos) -> goto poll_end :: else fi;
    CRASH(); Inspect(pos, (rtail - pos > CAP -> CAP : rtail - pos));
    if
    :: (kind == K_NOTREADY || kind == K_BUSY) ->
       if :: cnt > 0 -> goto poll_end :: else fi;
       /* §5.4 HeadStuck: after 2 ms at the same head, TryReclaimAt(pos) (time: RECOVERY §8.3) */
       trpos = pos; j = 0; traret = 1; stuckpos = hword; goto tra
    :: kind == K_CORRUPT ->
       assert(false)          /* §9.2: without a hostile writer no corrupt header is ever met */
    :: kind == K_DATA ->
       /* the checksum verifies (SC memory, bytes are the owner's): deliver a view */
       assert(gst[pos] == COMMITTED && glen[pos] == isz);      /* no uncommitted bytes */
       assert(gdel[g*MAXT + pos] == 0 || rcrash > 0);           /* exactly once w/o crash */
       gdel[g*MAXT + pos]++; pd++; cnt++; pos = pos + isz; goto insp
    :: kind == K_ABANDONED -> pa++; pos = pos + isz; goto insp
    :: else -> pos = pos + isz; goto insp                        /* PADDING, SKIP */
    fi }
stuck_back:  /* TryReclaimAt returned res: reclaimed -> re-inspect the head at once */
  atomic { if :: res -> goto insp :: else -> next = pos fi }
  /* Otherwise the reader polls again and again; nothing it does changes shared memory until
   * its head's word changes or TryReclaimAt would find a dead claim covering it: wait for that. */
  atomic { (hw[pos % CAP] != stuckpos || RECLAIMABLE(pos)) -> goto top }
poll_end:
  atomic { next = pos; goto top }

death:  /* kill -9: OFD locks dropped; a new reader incarnation attaches to the group */
  atomic { glock[g] = 0; ridle[g] = 0; if :: held -> plock[held - 1] = 0; held = 0 :: else fi;
           goto attach }

  Reclaim();
tra_done: goto stuck_back;
rsi_done: goto tra_back
}

/* ---------- accounting at quiescence (PROTOCOL §9.2) ---------- */

active proctype Check() {
  byte p, g, gcom, gab, sum;
end_wait:
  atomic {
    QUIESC ->
    gcom = 0; gab = 0; p = 0;
    do
    :: p < MAXT ->
       if :: gst[p] == COMMITTED -> gcom++ :: gst[p] == ABANDONED -> gab++ :: else fi;
       assert(gst[p] != BUSY);                                  /* nothing left in flight */
       p++
    :: else -> break
    od;
    g = 0;
    do
    :: g < NG ->
       /* committed = delivered + overwritten + corrupt + lag, lag = 0 (cursor == tail);
        * not after the residual journal ambiguity (RECOVERY §4.5, a double failure) */
       assert(jambig || gcom == delivered[g] + overwritten[g] + gcorrupt[g]);
       assert(gcorrupt[g] == 0);
       /* §9.1: the group's abandoned = those its reader passed; producers passed the rest */
       assert(jambig || gabandoned[g] + gabpass[g] == gab);
       p = 0;
       do
       :: p < MAXT ->                                           /* no committed record lost */
          assert(gst[p] != COMMITTED || gdel[g*MAXT + p] > 0 || gover[g*MAXT + p]);
          p++
       :: else -> break
       od;
       g++
    :: else -> break
    od;
    /* §9.2 "Σ_slots committed equals the left-hand side" and Σ slots abandoned (exact
     * wherever producers and reclaimers died: the counter journal, RECOVERY §2.1) */
    sum = 0; p = 0;
    do :: p < NP -> sum = sum + pcommitted[p]; p++ :: else -> break od;
    assert(sum == gcom);                                        /* Σ slots committed */
    sum = 0; p = 0;
    do :: p < NP -> sum = sum + pabandoned[p]; p++ :: else -> break od;
    assert(sum == gab);                                         /* Σ slots abandoned */
    checked = 1
  }
end_done:
  skip
}

init {
  byte x;
  atomic {
    x = 0;
    do :: x < NP -> plock[x] = 1; run Producer(x); x++ :: else -> break od;
    x = 0;
    do :: x < NG -> run Reader(x); x++ :: else -> break od
  }
}

#ifdef LIVENESS
/* Progress under weak fairness: whatever crashed, every claimed record is eventually
 * settled and consumed -- in particular a reader stuck behind a dead producer's claim
 * moves on (the producers' bound MAXT makes quiescence reachable). */
ltl progress { <> QUIESC }
#endif
