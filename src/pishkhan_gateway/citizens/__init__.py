"""What citizens do themselves: book an appointment (سامانه نوبت‌دهی; ``slots`` the capacity and
free slots, ``bookings`` the bookings' life, ``crowding`` the busy hours) and rate the service
they got (``feedback``)."""
