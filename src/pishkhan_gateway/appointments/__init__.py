"""Appointments (سامانه نوبت‌دهی): offices publish their capacity, citizens book a slot and
confirm it with a code sent by SMS, offices run the day's queue. ``slots`` is the capacity and
the free slots; ``bookings`` the bookings' life."""
