-- Pageviews per landing campaign source and path, with the people behind them (sessions joined to users).
select
    coalesce(nullif(sessions.utm_source, ''), '(none)') as utm_source,
    pageviews.path,
    count(*) as pageviews,
    count(distinct users.identity) as identified_people
from {{ source('heapsite', 'pageviews') }} as pageviews
join {{ source('heapsite', 'sessions') }} as sessions on sessions.session_id = pageviews.session_id
join {{ source('heapsite', 'users') }} as users on users.user_id = pageviews.user_id
group by 1, 2
