/*
 * The connection pool of the storage backends (see pool.h).
 */
#include "billing/errors.h"
#include "core/assert.h"
#include "storage/pool.h"

void billing__pool_init(billing__pool *p, unsigned int max,
	int (*connect)(void *backend, billing__pool_item **out),
	void (*close)(billing__pool_item *item), void *backend)
{
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->idle = NULL;
	p->open = 0;
	p->max = max;
	p->connect = connect;
	p->close = close;
	p->backend = backend;
}

int billing__pool_acquire(billing__pool *p, billing__pool_item **out)
{
	int rc;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		BILLING_ASSERT(p->open <= p->max);
		if (p->idle) {
			*out = p->idle;
			p->idle = p->idle->next;
			pthread_mutex_unlock(&p->mu);
			return BILLING_OK;
		}
		if (p->open < p->max)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->open++;
	pthread_mutex_unlock(&p->mu);

	/* Connect outside the lock: it may take a network round trip. */
	if ((rc = p->connect(p->backend, out)) < 0) {
		pthread_mutex_lock(&p->mu);
		BILLING_ASSERT(p->open > 0);
		p->open--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return rc;
}

void billing__pool_release(billing__pool *p, billing__pool_item *item, bool broken)
{
	BILLING_ASSERT(item != NULL);
	if (broken)
		p->close(item);
	pthread_mutex_lock(&p->mu);
	/* Every connection handed back was handed out: counted in open. */
	BILLING_ASSERT(p->open > 0);
	if (broken) {
		p->open--;
	} else {
		item->next = p->idle;
		p->idle = item;
	}
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void billing__pool_destroy(billing__pool *p)
{
	billing__pool_item *it, *next;
	unsigned int idle = 0;
	for (it = p->idle; it; it = next) {
		next = it->next;
		p->close(it);
		idle++;
	}
	/* None in use: every open connection was idle. */
	BILLING_ASSERT(idle == p->open);
	(void)idle;
	p->idle = NULL;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}
