DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;
 d=lists.example.org; i=@lists.example.org; q=dns/txt; s=vector-ed;
 t=1796000000; h=from : subject : date : message-id : to : cc :
 reply-to : mime-version : content-type : content-transfer-encoding :
 list-id : list-unsubscribe : list-unsubscribe-post : from : subject :
 date : message-id : to : cc : reply-to : mime-version : content-type :
 content-transfer-encoding : list-id : list-unsubscribe :
 list-unsubscribe-post;
 bh=YNYwuxALBaG7bVZVPnMYpTWUFZRGPbqX3xZtN+Cu/A0=;
 b=DAPk6DGi0x1ECw+z/1Km73h4q+Alw4P2/N5R2+PIyRKZ2pTBej3OfQ98OggfU4TX+hqOz
 iVzYDOwvtOcLnGoDw==
