/* ferryd.h: what the daemon's modules truly share. */
#ifndef FERRYD_H
#define FERRYD_H

/*
 * Event priorities: 0 urgent, 1 the default for sockets, 2 work that should
 * run once the ready sockets are served (the batched commit).
 */
#define FERRYD_PRIORITIES	3

#endif
