-- One row per user: who they are, how many sessions and events, when first and last seen.
with events as (
    select user_id, count(*) as events, min(time) as first_seen, max(time) as last_seen
    from {{ source('heapsite', 'all_events') }}
    group by user_id
),

sessions as (
    select user_id, count(*) as sessions
    from {{ source('heapsite', 'sessions') }}
    group by user_id
)

select
    users.user_id,
    users.identity,
    coalesce(sessions.sessions, 0) as sessions,
    coalesce(events.events, 0) as events,
    events.first_seen,
    events.last_seen
from {{ source('heapsite', 'users') }} as users
left join sessions on sessions.user_id = users.user_id
left join events on events.user_id = users.user_id
